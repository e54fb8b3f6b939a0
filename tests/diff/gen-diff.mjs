// gen-diff.mjs - generated differential test of s3warden's policy engine
// against an independent IAM simulator (@cloud-copilot/iam-simulate, AGPL,
// run as an external tool only; run-diff.sh installs it on first use).
//
//   node gen-diff.mjs --cases N --seed S --lines path/to/diff_simulate_lines [--show K]
// (run-diff.sh finds the driver and installs the simulator first)
//
// Each case is drawn from a seeded generator over the whole policy language
// s3warden takes: every condition operator family with IfExists and the set
// operators, multi-valued keys, policy variables with defaults and escapes,
// NotPrincipal / NotAction / NotResource, identity and bucket policies,
// permissions boundaries, session policies and guardrails, and anonymous,
// root, IAM user, role session and federated callers in the bucket owner's
// account and in another. Both engines get the same input; every
// disagreement is either explained by one of the classes in known-classes.mjs
// (a point where the simulator contradicts AWS's documentation, or where AWS
// is silent and s3warden takes the reading that denies) or is a residual.
// Exit status: 0 when no residual is left, 1 otherwise, 2 on a setup error.
import { runSimulation, anonymousPrincipal } from '@cloud-copilot/iam-simulate'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { classify, CLASSES } from './known-classes.mjs'

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) =>
  (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []))
const N = Number(args.cases ?? 2000), SEED = Number(args.seed ?? 18)
const SHOW = Number(args.show ?? 10), LINES = args.lines
if (!LINES) { console.error('gen-diff: --lines path/to/diff_simulate_lines is required'); process.exit(2) }

// ---- seeded PRNG (mulberry32): the same seed gives the same cases --------
let st = SEED >>> 0
const rnd = () => { st = (st + 0x6D2B79F5) >>> 0; let t = st
  t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 }
const pick = (a) => a[Math.floor(rnd() * a.length)]
const chance = (p) => rnd() < p
const some = (a, max) => { const n = 1 + Math.floor(rnd() * max), out = []
  for (let i = 0; i < n; i++) { const v = pick(a); if (!out.includes(v)) out.push(v) } return out }
const one = (a) => (a.length === 1 && chance(0.5) ? a[0] : a)

// ---- the world ------------------------------------------------------------
const A = '111111111111', X = '222222222222'
const CALLERS = {
  anonymous: { arn: 'anonymous', type: 'anonymous' },
  rootA: { arn: `arn:aws:iam::${A}:root`, type: 'root', acct: A },
  rootX: { arn: `arn:aws:iam::${X}:root`, type: 'root', acct: X },
  alice: { arn: `arn:aws:iam::${A}:user/alice`, type: 'user', acct: A, id: 'AIDAALICE00000000001', name: 'alice' },
  bob: { arn: `arn:aws:iam::${X}:user/bob`, type: 'user', acct: X, id: 'AIDABOB0000000000001', name: 'bob' },
  sessA: { arn: `arn:aws:sts::${A}:assumed-role/R1/s1`, type: 'session', acct: A, role: `arn:aws:iam::${A}:role/R1`, id: 'AROAROLEONE000000001', sess: 's1' },
  sessX: { arn: `arn:aws:sts::${X}:assumed-role/R2/s2`, type: 'session', acct: X, role: `arn:aws:iam::${X}:role/R2`, id: 'AROAROLETWO000000002', sess: 's2' },
  fedA: { arn: `arn:aws:sts::${A}:federated-user/fred`, type: 'federated', acct: A, sess: 'fred' },
}
const ACTIONS = {
  's3:GetObject': 'object', 's3:PutObject': 'object', 's3:DeleteObject': 'object',
  's3:ListBucket': 'bucket', 's3:GetBucketTagging': 'bucket',
}
const OBJECTS = ['bkt/k', 'bkt/home/alice/x', 'bkt/home/bob/x', 'bkt/public/p', 'bkt/a*b', 'bkt/a?b', 'bkt/a$b', 'bkt/axb',
  'bkt/home/AIDAALICE00000000001/x', `bkt/${A}/x`, 'bkt/User/x', 'bkt/blue/x']
const principalArns = () => [`arn:aws:iam::${A}:user/alice`, `arn:aws:iam::${X}:user/bob`,
  `arn:aws:iam::${A}:role/R1`, `arn:aws:iam::${X}:role/R2`, `arn:aws:sts::${A}:assumed-role/R1/s1`,
  `arn:aws:sts::${X}:assumed-role/R2/s2`, `arn:aws:sts::${A}:federated-user/fred`,
  `arn:aws:iam::${A}:root`, `arn:aws:iam::${X}:root`, A, X]

// ---- policy pieces ----------------------------------------------------------
function genAction() {
  const names = Object.keys(ACTIONS)
  const shapes = [() => pick(names), () => pick(names).toUpperCase(), () => 's3:*', () => '*',
    () => 's3:Get*', () => 's3:*Object', () => 's3:?etObject', () => 's3:List*', () => 's3:*Bucket*']
  const v = some(shapes, 3).map((f) => f())
  return chance(0.15) ? { NotAction: one(v) } : { Action: one(v) }
}
function genResource(identitySide) {
  const shapes = ['*', 'arn:aws:s3:::bkt', 'arn:aws:s3:::bkt/*', 'arn:aws:s3:::bkt/k', 'arn:aws:s3:::bk?',
    'arn:aws:s3:::bkt/home/${aws:username}/*', "arn:aws:s3:::bkt/home/${aws:username, 'alice'}/*",
    'arn:aws:s3:::bkt/a${*}b', 'arn:aws:s3:::bkt/a${?}b', 'arn:aws:s3:::bkt/a${$}b', 'arn:aws:s3:::bkt/a?b',
    'arn:aws:s3:::bkt/public/*', 'arn:aws:s3:::*/k', 'arn:aws:s3:::bkt/${aws:PrincipalTag/team}/*',
    'arn:aws:s3:::bkt/home/${aws:userid}/*', 'arn:aws:s3:::bkt/${aws:PrincipalAccount}/*',
    "arn:aws:s3:::bkt/${aws:PrincipalTag/team, 'public'}/*", 'arn:aws:s3:::bkt/${aws:PrincipalType}/*']
  const v = some(shapes, 2)
  return chance(0.12) ? { NotResource: one(v) } : { Resource: one(v) }
}
function genPrincipal(deny) {
  const arns = principalArns()
  const shapes = [() => '*', () => ({ AWS: '*' }), () => ({ AWS: one(some(arns, 3)) }),
    () => ({ AWS: pick(arns) }), () => ({ AWS: `arn:aws:iam::${A}:root` })]
  if (deny && chance(0.15)) {
    // NotPrincipal as AWS's examples write it: the session, its role and the account
    const sets = [[`arn:aws:sts::${A}:assumed-role/R1/s1`, `arn:aws:iam::${A}:role/R1`, `arn:aws:iam::${A}:root`],
      [`arn:aws:iam::${A}:user/alice`, `arn:aws:iam::${A}:root`], [`arn:aws:iam::${A}:root`], some(arns, 3)]
    return { NotPrincipal: { AWS: one(pick(sets)) } }
  }
  return { Principal: pick(shapes)() }
}

// Condition operators by family, with the keys and values each is tried on.
const V4 = ['192.0.2.0/24', '192.0.2.7/32', '192.0.2.7', '10.0.0.0/8', '0.0.0.0/0', '203.0.113.128/25']
const V6 = ['2001:db8::/32', '2001:DB8:1234:5678::/64', '2001:db8:1234:5678:abcd::/80', '::/0']
const DATES = ['2024-06-01T00:00:00Z', '2024-06-01T12:00:00Z', '2030-01-01T00:00:00Z', '2020-01-01T00:00:00Z',
  '1717243200', '2024-06-01T12:00:00.000Z', '2024-06-01']
const FAMILIES = {
  String: { ops: ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'],
    keys: { 'aws:Referer': ['http://www.example.com/*', 'http://www.example.com/page', 'HTTP://WWW.EXAMPLE.COM/PAGE', 'http://evil.test/?'],
      'aws:PrincipalTag/team': ['blue', 'BLUE', 'b*', 'red', '${aws:username}'],
      'aws:userid': ['AROAROLEONE000000001:*', 'AIDAALICE00000000001', `${A}:fred`, 'AROAROLEONE000000001:s1', '*:s?'],
      'aws:username': ['alice', 'bob', '${aws:PrincipalTag/team}', "${aws:PrincipalTag/team, 'alice'}"],
      'aws:PrincipalAccount': [A, X, 'anonymous'],
      'aws:PrincipalType': ['User', 'AssumedRole', 'Account', 'FederatedUser', 'Anonymous', '${aws:PrincipalType}'],
      'aws:PrincipalArn': ['arn:aws:iam::${aws:PrincipalAccount}:*', 'arn:aws:*:*:${aws:PrincipalAccount}:user/${aws:username}', "${aws:PrincipalTag/arn, 'none'}"],
      'aws:SourceIp': ['${aws:SourceIp}', '192.0.2.*'],
      'aws:CurrentTime': ['${aws:CurrentTime}', '2024-06-01T*'],
      'aws:SecureTransport': ['${aws:SecureTransport}', "${aws:Referer, 'true'}"],
      's3:prefix': ['home/${aws:username}/', 'home/${aws:username}/*', 'home/', 'public/*', '${*}', '${$}x', '${?}x',
        'home/${aws:userid}/*', "home/${aws:username, 'alice'}/"],
      's3:x-amz-acl': ['bucket-owner-full-control', 'public-read', 'private'] } },
  Numeric: { ops: ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'],
    keys: { 'aws:MultiFactorAuthAge': ['3600', '300', '0', '86400'], 's3:max-keys': ['10', '100', '1000', '1.5'] } },
  Date: { ops: ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'],
    keys: { 'aws:CurrentTime': DATES, 'aws:TokenIssueTime': DATES, 'aws:EpochTime': DATES } },
  Bool: { ops: ['Bool'], keys: { 'aws:SecureTransport': ['true', 'false'], 'aws:MultiFactorAuthPresent': ['true', 'false'] } },
  IP: { ops: ['IpAddress', 'NotIpAddress'], keys: { 'aws:SourceIp': [...V4, ...V6] } },
  Arn: { ops: ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'],
    keys: { 'aws:PrincipalArn': [`arn:aws:iam::${A}:role/R1`, `arn:aws:iam::${A}:user/*`, `arn:aws:iam::*:role/R?`,
      `arn:aws:iam::${A}:root`, `arn:aws:iam::${X}:*`, 'arn:aws:iam::*:user/${aws:username}'] } },
  Null: { ops: ['Null'], keys: { 'aws:MultiFactorAuthAge': ['true', 'false'], 'aws:username': ['true', 'false'],
    'aws:PrincipalTag/team': ['true', 'false'], 'aws:Referer': ['true', 'false'], 's3:RequestObjectTagKeys': ['true', 'false'] } },
  Binary: { ops: ['BinaryEquals'], keys: { 'aws:Referer': ['aHR0cDovL3d3dy5leGFtcGxlLmNvbS9wYWdl', 'aHR0cDovL2V2aWwudGVzdC94'] } },
  Set: { ops: ['ForAnyValue:StringEquals', 'ForAllValues:StringEquals', 'ForAnyValue:StringLike', 'ForAllValues:StringLike',
    'ForAnyValue:StringNotEquals', 'ForAllValues:StringNotEquals', 'ForAllValues:StringNotLike', 'ForAnyValue:StringEqualsIgnoreCase'],
    keys: { 's3:RequestObjectTagKeys': ['env', 'team', 'cost*', 'Env', 'owner'] } },
}
function genCondition() {
  const cond = {}
  const n = 1 + Math.floor(rnd() * 2)
  for (let i = 0; i < n; i++) {
    const fam = pick(Object.keys(FAMILIES)), F = FAMILIES[fam]
    let op = pick(F.ops)
    if (fam !== 'Null' && chance(0.2)) op += 'IfExists'
    const key = pick(Object.keys(F.keys))
    const vals = some(F.keys[key], 2)
    cond[op] = cond[op] || {}
    cond[op][key] = one(vals)
  }
  return cond
}
function genStatement(kind) {
  const deny = chance(kind === 'guardrail' ? 0.9 : 0.3)
  const s = { Effect: deny ? 'Deny' : 'Allow' }
  if (chance(0.5)) s.Sid = 'S' + Math.floor(rnd() * 1e6)
  if (kind === 'resource') Object.assign(s, genPrincipal(deny))
  Object.assign(s, genAction(), genResource(kind !== 'resource'))
  if (chance(0.55)) s.Condition = genCondition()
  return s
}
function genPolicy(kind, n = 1 + Math.floor(rnd() * 3)) {
  const sts = []
  for (let i = 0; i < n; i++) sts.push(genStatement(kind))
  if (kind === 'guardrail') sts.unshift({ Effect: 'Allow', Action: '*', Resource: '*' })
  // unique Sids, as IAM requires
  const seen = new Set()
  sts.forEach((s, i) => { if (s.Sid && seen.has(s.Sid)) s.Sid += 'x' + i; if (s.Sid) seen.add(s.Sid) })
  return { Version: chance(0.95) ? '2012-10-17' : '2008-10-17', Statement: sts }
}

// ---- the request context ------------------------------------------------------
function principalKeys(c) {
  // Both engines get the principal's keys spelt out (IAM-SEMANTICS.md §6)
  const cv = {}
  if (c.type === 'anonymous') return cv
  cv['aws:PrincipalAccount'] = c.acct
  if (c.type === 'root') { cv['aws:PrincipalArn'] = c.arn; cv['aws:userid'] = c.acct; cv['aws:PrincipalType'] = 'Account' }
  if (c.type === 'user') { cv['aws:PrincipalArn'] = c.arn; cv['aws:userid'] = c.id; cv['aws:username'] = c.name; cv['aws:PrincipalType'] = 'User' }
  if (c.type === 'session') { cv['aws:PrincipalArn'] = c.role; cv['aws:userid'] = `${c.id}:${c.sess}`; cv['aws:PrincipalType'] = 'AssumedRole' }
  if (c.type === 'federated') { cv['aws:PrincipalArn'] = c.arn; cv['aws:userid'] = `${c.acct}:${c.sess}`; cv['aws:PrincipalType'] = 'FederatedUser' }
  return cv
}
function genContext(c, action) {
  const cv = principalKeys(c)
  cv['aws:CurrentTime'] = pick(['2024-06-01T12:00:00Z', '2019-12-31T23:59:59Z', '2031-01-01T00:00:00Z'])
  cv['aws:EpochTime'] = String(Math.floor(Date.parse(cv['aws:CurrentTime']) / 1000))
  cv['aws:SecureTransport'] = pick(['true', 'false'])
  if (chance(0.8)) cv['aws:SourceIp'] = pick(['192.0.2.7', '192.0.2.255', '192.0.3.0', '10.1.2.3', '203.0.113.128',
    '203.0.113.127', '2001:db8:1234:5678::1', '2001:db8:1234:5678:abcd::9', '2001:db9::1'])
  if (chance(0.5)) cv['aws:Referer'] = pick(['http://www.example.com/page', 'http://www.example.com/other', 'http://evil.test/x', 'HTTP://WWW.EXAMPLE.COM/PAGE'])
  if (c.type !== 'anonymous') {
    if (chance(0.5)) cv['aws:PrincipalTag/team'] = pick(['blue', 'red', 'alice', 'Blue'])
    if (chance(0.4)) { cv['aws:MultiFactorAuthAge'] = pick(['300', '3600', '0']); cv['aws:MultiFactorAuthPresent'] = 'true' }
    else if (chance(0.5)) cv['aws:MultiFactorAuthPresent'] = 'false'
    if (c.type === 'session' || c.type === 'federated') cv['aws:TokenIssueTime'] = pick(['2024-06-01T00:00:00Z', '2020-01-01T00:00:00Z'])
  }
  if (action === 's3:ListBucket') {
    if (chance(0.7)) cv['s3:prefix'] = pick(['home/alice/', 'home/bob/', 'public/x', '*', '$x', '?x', 'home/',
      'home/AIDAALICE00000000001/x'])
    if (chance(0.5)) cv['s3:max-keys'] = pick(['10', '100', '1000'])
  }
  if (action === 's3:PutObject') {
    if (chance(0.5)) cv['s3:x-amz-acl'] = pick(['bucket-owner-full-control', 'public-read', 'private'])
    if (chance(0.6)) cv['s3:RequestObjectTagKeys'] = some(['env', 'team', 'cost-center', 'Env', 'owner'], 3)
  }
  return cv
}

function genCase() {
  const caller = CALLERS[pick(Object.keys(CALLERS))]
  const action = pick(Object.keys(ACTIONS))
  const resource = ACTIONS[action] === 'bucket' ? 'arn:aws:s3:::bkt' : 'arn:aws:s3:::' + pick(OBJECTS)
  const anon = caller.type === 'anonymous'
  const inp = {
    request: { principal: caller.arn, action, resource: { resource, accountId: A }, contextVariables: genContext(caller, action) },
    identityPolicies: [], permissionBoundaryPolicies: [], guardrailPolicies: [],
  }
  if (caller.type === 'user' || caller.type === 'session') inp.request.principalId = caller.id
  if (!anon && caller.type !== 'root' || chance(0.3)) {
    const n = anon ? 0 : Math.floor(rnd() * 3)
    for (let i = 0; i < n; i++) inp.identityPolicies.push({ name: 'id' + i, policy: genPolicy('identity') })
  }
  if (chance(0.75)) inp.resourcePolicy = genPolicy('resource')
  if ((caller.type === 'user' || caller.type === 'session') && chance(0.25))
    inp.permissionBoundaryPolicies.push({ name: 'boundary', policy: genPolicy('boundary') })
  if ((caller.type === 'session' || caller.type === 'federated') && chance(0.45)) inp.sessionPolicy = genPolicy('session')
  if (!anon && chance(0.2)) inp.guardrailPolicies.push({ name: 'guard', policy: genPolicy('guardrail', 1) })
  return { caller, inp }
}

// ---- the two engines ------------------------------------------------------------
// s3warden's side: the batch driver (policy_simulate_json, as `s3warden
// simulate` runs it), one input line in, one answer line out.
const driver = spawn(LINES, [], { stdio: ['pipe', 'pipe', 'inherit'] })
driver.on('exit', (code) => { if (code) { console.error(`gen-diff: ${LINES} exited ${code}`); process.exit(2) } })
const answers = createInterface({ input: driver.stdout })[Symbol.asyncIterator]()
async function runOurs(inp) {
  driver.stdin.write(JSON.stringify(inp) + '\n')
  const { value, done } = await answers.next()
  if (done) throw new Error('diff_simulate_lines ended early')
  return JSON.parse(value)
}
async function runOracle(caller, inp) {
  const req = JSON.parse(JSON.stringify(inp.request))
  delete req.principalId
  if (caller.type === 'anonymous') {
    req.principal = anonymousPrincipal
    // s3warden sets these for an unsigned request (policy/eval.c,
    // IAM-SEMANTICS.md 6: aws:PrincipalAccount is "anonymous" [KEYS]); the
    // simulator sets none: it is given the same values
    req.contextVariables = { 'aws:PrincipalAccount': 'anonymous', 'aws:userid': 'anonymous',
      'aws:PrincipalType': 'Anonymous', ...req.contextVariables }
  }
  // The account root user has full access [EL]; the simulator gives it none
  // of its own, so it gets the equivalent identity policy (class
  // root-full-access in known-classes.mjs).
  const ids = caller.type === 'root'
    ? [...inp.identityPolicies, { name: 'root-full-access', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }]
    : inp.identityPolicies
  const sim = { request: req, identityPolicies: ids,
    serviceControlPolicies: inp.guardrailPolicies.map((g, i) => ({ orgIdentifier: 'guard' + i, policies: [g] })),
    resourceControlPolicies: [] }
  if (inp.permissionBoundaryPolicies.length) sim.permissionBoundaryPolicies = inp.permissionBoundaryPolicies
  if (inp.resourcePolicy) sim.resourcePolicy = inp.resourcePolicy
  if (inp.sessionPolicy) sim.sessionPolicy = inp.sessionPolicy
  const r = await runSimulation(sim, {})
  if (r.resultType === 'error') return { result: 'Refused', error: JSON.stringify(r.errors).slice(0, 300) }
  return { result: r.overallResult }
}

// ---- shrinking: the smallest input that still disagrees (--minimize) ------------
// Greedy: drop one policy, statement, condition operator, key, list value or
// context key at a time while the two engines still disagree.
async function disagree(caller, inp) {
  const o = await runOurs(inp), t = await runOracle(caller, inp)
  return o.result !== t.result && !(o.result === 'Refused' && t.result === 'Refused')
}
function* shrinks(inp) {
  const clone = () => JSON.parse(JSON.stringify(inp))
  for (const k of ['identityPolicies', 'permissionBoundaryPolicies', 'guardrailPolicies'])
    for (let i = 0; i < inp[k].length; i++) { const c = clone(); c[k].splice(i, 1); yield c }
  for (const k of ['resourcePolicy', 'sessionPolicy']) if (inp[k]) { const c = clone(); delete c[k]; yield c }
  const docs = (c) => [...c.identityPolicies.map((x) => x.policy), ...c.permissionBoundaryPolicies.map((x) => x.policy),
    ...c.guardrailPolicies.map((x) => x.policy), c.resourcePolicy, c.sessionPolicy].filter(Boolean)
  const n = docs(inp).length
  for (let d = 0; d < n; d++) {
    const sts = docs(inp)[d].Statement
    for (let i = 0; i < sts.length; i++) {
      if (sts.length > 1) { const c = clone(); docs(c)[d].Statement.splice(i, 1); yield c }
      const s = sts[i]
      for (const el of ['Action', 'NotAction', 'Resource', 'NotResource'])
        if (Array.isArray(s[el])) for (let j = 0; j < s[el].length; j++) {
          const c = clone(); const cs = docs(c)[d].Statement[i]; cs[el].splice(j, 1); if (cs[el].length) yield c }
      if (s.Sid) { const c = clone(); delete docs(c)[d].Statement[i].Sid; yield c }
      if (s.Condition) for (const op of Object.keys(s.Condition)) {
        { const c = clone(); const cs = docs(c)[d].Statement[i]; delete cs.Condition[op]; if (!Object.keys(cs.Condition).length) delete cs.Condition; yield c }
        for (const key of Object.keys(s.Condition[op])) {
          const v = s.Condition[op][key]
          if (Object.keys(s.Condition[op]).length > 1) { const c = clone(); delete docs(c)[d].Statement[i].Condition[op][key]; yield c }
          if (Array.isArray(v)) for (let j = 0; j < v.length; j++) {
            const c = clone(); const cv = docs(c)[d].Statement[i].Condition[op][key]; cv.splice(j, 1); if (cv.length) yield c }
        }
      }
    }
  }
  // the principal's own keys stay: both engines must see the same caller
  for (const k of Object.keys(inp.request.contextVariables)) {
    if (/^aws:(Principal(Arn|Account|Type)|userid|username)$/.test(k)) continue
    const c = clone(); delete c.request.contextVariables[k]; yield c }
}
async function minimize(caller, inp) {
  for (let changed = true; changed;) {
    changed = false
    for (const c of shrinks(inp)) if (await disagree(caller, c)) { inp = c; changed = true; break }
  }
  return inp
}

// ---- run ----------------------------------------------------------------------------
const counts = { cases: 0, agree: 0, explained: 0, residual: 0, bothRefused: 0 }
const byClass = {}
const residuals = []
const t0 = Date.now()
for (let i = 0; i < N; i++) {
  const { caller, inp } = genCase()
  if (args.only !== undefined && i !== Number(args.only)) continue
  const ours = await runOurs(inp)
  const theirs = await runOracle(caller, inp)
  counts.cases++
  if (ours.result === 'Refused' && theirs.result === 'Refused') { counts.bothRefused++; continue }
  if (ours.result === theirs.result) { counts.agree++; continue }
  const cls = classify(inp, caller, ours, theirs)
  if (cls) { counts.explained++; byClass[cls] = (byClass[cls] || 0) + 1; continue }
  counts.residual++
  if (residuals.length < SHOW) {
    const small = 'minimize' in args ? await minimize(caller, inp) : inp
    const o = await runOurs(small), t = await runOracle(caller, small)
    residuals.push({ case: i, ours: o.result, oracle: t.result, ourError: o.error, oracleError: t.error, input: small })
  }
}
const secs = (Date.now() - t0) / 1000
for (const r of residuals) console.log('RESIDUAL', JSON.stringify(r))
console.log(`seed ${SEED}: ${counts.cases} cases in ${secs.toFixed(1)} s: ${counts.agree} agree, ` +
  `${counts.bothRefused} refused by both, ${counts.explained} explained by a known class, ${counts.residual} residual`)
for (const [k, v] of Object.entries(byClass).sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(v).padStart(6)}  ${k} (${CLASSES[k].kind}): ${CLASSES[k].title}`)
driver.stdin.end()
process.exit(counts.residual ? 1 : 0)
