// known-classes.mjs - the known points where s3warden and the simulator
// (@cloud-copilot/iam-simulate) disagree, each listed once with what decides
// it. A class matches a disagreement by the features of its input; classify()
// returns the class name, or null: a residual, i.e. a bug on one side or a
// class still to document. Three kinds:
//   aws-docs   the simulator contradicts AWS's documentation; AWS's sentence
//              decides, and s3warden follows it;
//   denies     AWS is silent; s3warden takes the reading that denies
//              (IAM-SEMANTICS.md: UNCONFIRMED -> deny) and a unit test names
//              the choice;
//   harness    the two engines cannot be given the same question.

const stmtsOf = (p) => (p ? [].concat(p.Statement || []) : [])
const allPolicies = (inp) => [...inp.identityPolicies.map((x) => x.policy), ...inp.permissionBoundaryPolicies.map((x) => x.policy),
  ...inp.guardrailPolicies.map((x) => x.policy), inp.resourcePolicy, inp.sessionPolicy].filter(Boolean)
const allStatements = (inp) => allPolicies(inp).flatMap((p) => stmtsOf(p).map((s) => ({ s, p })))
const list = (v) => (v === undefined ? [] : [].concat(v))
const hasKey = (inp, key) => Object.keys(inp.request.contextVariables).some((k) => k.toLowerCase() === key.toLowerCase())
const isDeny = (r) => r.result !== 'Allowed'
const starPrincipal = (s) => s.Principal === '*' || (s.Principal && list(s.Principal.AWS).includes('*'))
const principalArnNarrowed = (s) => Object.entries(s.Condition || {}).some(([op, keys]) =>
  !/Not|IfExists|^For/.test(op) && /^(String|Arn)/.test(op) && Object.keys(keys).some((k) => k.toLowerCase() === 'aws:principalarn'))

// the request's values of the keys some statement names as ${...} in its
// Condition, Resource or NotResource
const variableValues = (inp) => {
  const vars = new Set(allStatements(inp).flatMap(({ s }) =>
    [...JSON.stringify([s.Condition || {}, s.Resource || [], s.NotResource || []]).matchAll(/\$\{([^},]+)[^}]*\}/g)]
      .map((m) => m[1].trim().toLowerCase())))
  return Object.entries(inp.request.contextVariables).filter(([k]) => vars.has(k.toLowerCase())).map(([, v]) => v)
}

export const CLASSES = {
  'root-full-access': {
    kind: 'aws-docs',
    title: 'the account root user has full access in its own account; the simulator gives it nothing without a policy',
    decides: '"By default, all requests are implicitly denied with the exception of the AWS account root user, which has full access." - IAM User Guide, Policy evaluation logic, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html',
    // gen-diff.mjs gives the simulator's root an Allow * on *: matched only
    // if that modelling is ever dropped
    match: (inp, caller, ours, theirs) => caller.type === 'root' && ours.result === 'Allowed' && theirs.result === 'ImplicitlyDenied' &&
      !('modelled' in CLASSES['root-full-access']),
    modelled: true,
  },
  'federated-user-without-session-policy': {
    kind: 'aws-docs',
    title: 'a GetFederationToken session without a session policy has no permissions; the simulator lets its identity policy through',
    decides: '"If you do not pass a policy to this operation, ... the resulting federated user session has no permissions" (only a resource policy that names the federated user grants) - STS API Reference, GetFederationToken, https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html; IAM-SEMANTICS.md 1.1 step 7',
    match: (inp, caller, ours, theirs) => caller.type === 'federated' && !inp.sessionPolicy && isDeny(ours) && theirs.result === 'Allowed',
  },
  'epoch-time-in-date-operators': {
    kind: 'aws-docs',
    title: 'epoch time in a Date comparison (the key aws:EpochTime, or an epoch value in the policy): the simulator does not read it as a date',
    decides: 'Date condition operators: "You must specify date/time values with one of the W3C implementations of the ISO 8601 date formats or in epoch (UNIX) time" - IAM User Guide, Condition operators, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date; aws:EpochTime "is compatible with date condition operators or numeric condition operators" - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-epochtime',
    match: (inp) => allStatements(inp).some(({ s }) => Object.entries(s.Condition || {}).some(([op, keys]) =>
      /Date/.test(op) && Object.entries(keys).some(([k, v]) => k.toLowerCase() === 'aws:epochtime' || list(v).some((x) => /^\d+$/.test(String(x)))))),
  },
  'ip-prefix-zero': {
    kind: 'aws-docs',
    title: 'a /0 CIDR (0.0.0.0/0, ::/0) covers every address; the simulator matches no address with it',
    decides: 'IP address operators take "the standard CIDR format (for example, 203.0.113.0/24 or 2001:DB8:1234:5678::/64)" - IAM User Guide, Condition operators, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress; a /0 prefix fixes no bit, so it holds every address (RFC 4632 section 3.1)',
    match: (inp) => allStatements(inp).some(({ s }) => Object.entries(s.Condition || {}).some(([op, keys]) =>
      /IpAddress/.test(op) && Object.values(keys).some((v) => list(v).some((x) => /\/0$/.test(String(x)))))),
  },
  'session-arn-grant-not-limited-by-session-policy': {
    kind: 'aws-docs',
    title: 'a bucket policy naming the session\'s own ARN (assumed-role or federated-user) is not limited by the session policy; the simulator limits it',
    decides: '"A resource-based policy can specify the ARN of the user or role as a principal. ... [if it] specifies the ARN of the session as a principal ... the permissions of the session are the union of the resource-based policy and the intersection of the identity-based policy and the session policy" - IAM User Guide, Session policies, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session (IAM-SEMANTICS.md 1.3, 1.4)',
    match: (inp, caller, ours, theirs) => ['session', 'federated'].includes(caller.type) && inp.sessionPolicy &&
      ours.result === 'Allowed' && theirs.result === 'ImplicitlyDenied' &&
      stmtsOf(inp.resourcePolicy).some((s) => s.Effect === 'Allow' && s.Principal && list(s.Principal.AWS).includes(caller.arn)),
  },
  'notprincipal-exemption-needs-every-level': {
    kind: 'denies',
    title: 'Deny + NotPrincipal exempts a caller only when it lists the caller\'s account and the caller itself (for a role session: the session, its role and the account); the simulator exempts on one entry',
    decides: '"When you use NotPrincipal with Deny, you must also specify the account ARN of the not-denied principal" and AWS\'s session example lists the assumed-role ARN, the role ARN and the account (IAM User Guide, NotPrincipal, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html); whether fewer entries suffice for a session is UNCONFIRMED (IAM-SEMANTICS.md 3) and s3warden denies - eval.c notprincipal_exempts, seeds.json seed 002 cases',
    match: (inp, caller, ours, theirs) => !['root', 'anonymous'].includes(caller.type) && ours.result === 'ExplicitlyDenied' &&
      stmtsOf(inp.resourcePolicy).some((s) => {
        if (s.Effect !== 'Deny' || !s.NotPrincipal) return false
        const l = list(s.NotPrincipal.AWS)
        const names = l.includes(caller.arn) || (caller.role && l.includes(caller.role))
        const all = l.includes(caller.arn) && (!caller.role || l.includes(caller.role)) &&
          l.some((a) => a === caller.acct || a === `arn:aws:iam::${caller.acct}:root`)
        return names && !all
      }),
  },
  'ifexists-with-set-operator-key-absent': {
    kind: 'aws-docs',
    title: 'ForAnyValue:...IfExists with the key absent: IfExists makes it true; the simulator keeps ForAnyValue\'s false',
    decides: '"If the key is not present, evaluate the condition element as true." - IAM User Guide, Condition operators, ...IfExists, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists',
    match: (inp) => allStatements(inp).some(({ s }) => Object.entries(s.Condition || {}).some(([op, keys]) =>
      /^For(Any|All)Value/.test(op) && /IfExists$/.test(op) && Object.keys(keys).some((k) => !hasKey(inp, k)))),
  },
  'notresource-variable-without-value': {
    kind: 'aws-docs',
    title: 'a NotResource entry whose policy variable has no value matches no resource, so the statement applies; the simulator does not apply it',
    decides: '"the resource that includes a policy variable with no value will not match any resource" - IAM User Guide, IAM policy elements: Variables and tags, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value',
    match: (inp) => allStatements(inp).some(({ s, p }) => p.Version === '2012-10-17' && list(s.NotResource).some((r) =>
      [...r.matchAll(/\$\{([^}*?$,]+)\}/g)].some((m) => !hasKey(inp, m[1].trim())))),
  },
  'version-2008-variables-are-literal': {
    kind: 'aws-docs',
    title: 'in a policy without Version 2012-10-17, ${...} is literal text; the simulator substitutes it',
    decides: '"If you do not include the Version element set to 2012-10-17 ..., variables such as ${aws:username} are not recognized as variables and are instead treated as literal strings in the policy." - IAM User Guide, IAM policy elements: Variables and tags, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html',
    match: (inp) => allPolicies(inp).some((p) => p.Version !== '2012-10-17' && JSON.stringify(p).includes('${')),
  },
  'notprincipal-account-does-not-exempt-its-principals': {
    kind: 'aws-docs',
    title: 'Deny + NotPrincipal listing the caller\'s account but not the caller: AWS still denies the caller; the simulator exempts it',
    decides: 'AWS\'s example NotPrincipal [user Bob, account 444455556666] "explicitly denies access to all principals except the user named Bob in AWS account 444455556666" - IAM User Guide, NotPrincipal, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html (IAM-SEMANTICS.md 3)',
    match: (inp, caller, ours, theirs) => caller.type !== 'root' && caller.type !== 'anonymous' && ours.result === 'ExplicitlyDenied' &&
      stmtsOf(inp.resourcePolicy).some((s) => s.Effect === 'Deny' && s.NotPrincipal &&
        list(s.NotPrincipal.AWS).some((a) => a === caller.acct || a === `arn:aws:iam::${caller.acct}:root`) &&
        !list(s.NotPrincipal.AWS).includes(caller.arn)),
  },
  'negated-operator-variable-without-value': {
    kind: 'aws-docs',
    title: 'a negated operator whose policy variable has no value matches; the simulator does not match it',
    decides: '"If the key ... does not exist ... negated condition operators like StringNotEquals or StringNotLike do match, because the policy variable has no value" (no-value rule) - IAM User Guide, IAM policy elements: Variables and tags, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value',
    match: (inp) => allStatements(inp).some(({ s, p }) => p.Version === '2012-10-17' && Object.entries(s.Condition || {}).some(([op, keys]) =>
      /Not/.test(op) && Object.values(keys).some((v) => list(v).some((x) =>
        [...String(x).matchAll(/\$\{([^}*?$,]+)\}/g)].some((m) => !hasKey(inp, m[1].trim())))))),
  },
  'star-with-principalarn-not-limited-by-session-policy': {
    kind: 'aws-docs',
    title: 'a "*" Allow narrowed by aws:PrincipalArn reaches a session its session policy does not allow; the simulator limits it',
    decides: 'IAM User Guide, Principal element, "IAM role principals" (IAM-SEMANTICS.md 1.3): with "*" and an aws:PrincipalArn condition the permissions boundary and session policy do not limit the grant unless they contain an explicit deny, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles',
    match: (inp, caller, ours, theirs) => ['session', 'federated'].includes(caller.type) && inp.sessionPolicy &&
      ours.result === 'Allowed' && theirs.result === 'ImplicitlyDenied' &&
      stmtsOf(inp.resourcePolicy).some((s) => s.Effect === 'Allow' && starPrincipal(s) && principalArnNarrowed(s)),
  },
  'star-grant-limited-by-session-policy': {
    kind: 'denies',
    title: 'a "*" Allow in the bucket policy reaches a role session or federated user only through its session policy',
    decides: 'AWS documents the session ARN (not limited) and the role ARN (limited) and says nothing of "*" (IAM User Guide, Session policies, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session); s3warden denies - conditions.json "a \\"*\\" Allow reaches a role session only through its session policy"',
    match: (inp, caller, ours, theirs) => ['session', 'federated'].includes(caller.type) && isDeny(ours) && theirs.result === 'Allowed' &&
      stmtsOf(inp.resourcePolicy).some((s) => s.Effect === 'Allow' && starPrincipal(s)),
  },
  'star-grant-limited-by-boundary': {
    kind: 'denies',
    title: 'a "*" Allow in the bucket policy reaches a caller with a permissions boundary only through that boundary, as a grant to the role does',
    decides: 'AWS documents a grant to a user ARN (not limited by the boundary) and to a role ARN (limited), and says nothing of "*" (IAM User Guide, Permissions boundaries, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-eval-logic); s3warden denies, as it does for the session policy - conditions.json "a \\"*\\" Allow reaches a role session only through its permissions boundary"',
    match: (inp, caller, ours, theirs) => caller.type !== 'anonymous' && inp.permissionBoundaryPolicies.length > 0 &&
      isDeny(ours) && theirs.result === 'Allowed' &&
      stmtsOf(inp.resourcePolicy).some((s) => s.Effect === 'Allow' && starPrincipal(s) && !principalArnNarrowed(s)),
  },
  'binary-operator-on-a-value-that-is-not-base64': {
    kind: 'denies',
    title: 'BinaryEquals on a request value that is not base-64: s3warden cannot compare it and takes the reading that denies (the Deny applies, the Allow does not)',
    decides: 'BinaryEquals "compares the value of the specified key byte for byte against a base-64 encoded representation of the binary value in the policy" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals); no S3 key is binary and AWS does not say what a text value means there; s3warden reads context values for Binary as base-64 (as the IAM policy simulator API does) and an unreadable one as indeterminate - condition.c cond_eval',
    match: (inp) => allStatements(inp).some(({ s }) => Object.entries(s.Condition || {}).some(([op, keys]) =>
      /^Binary/.test(op) && Object.keys(keys).some((k) => {
        const e = Object.entries(inp.request.contextVariables).find(([ck]) => ck.toLowerCase() === k.toLowerCase())
        return e && list(e[1]).some((v) => !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      }))),
  },
  'resource-case-reading-that-denies': {
    kind: 'denies',
    title: 'resources match in the case that denies: a Deny\'s Resource and an Allow\'s NotResource case-insensitively (an Allow\'s Resource and a Deny\'s NotResource case-sensitively); the simulator is case-sensitive throughout',
    decides: 'Whether Resource matching is case-sensitive is UNCONFIRMED (IAM-SEMANTICS.md 4.2; no statement in the IAM User Guide); s3warden takes the reading that denies either way - eval.c resource_matches, test_eval test_notresource_case_denies',
    match: (inp, caller, ours, theirs) => ours.result !== 'Allowed' && allStatements(inp).some(({ s }) =>
      (s.Effect === 'Deny' ? (s.Resource || s.NotResource) : s.NotResource) &&
      (/[A-Z]/.test(inp.request.resource.resource) || list(s.Resource || s.NotResource).some((r) => {
        // upper case in the pattern's own text, or in the value of a variable it uses
        const vars = [...r.matchAll(/\$\{([^},]+)[^}]*\}/g)].map((m) => m[1].trim().toLowerCase())
        const text = r.replace(/\$\{[^}]*\}/g, '')
        return /[A-Z]/.test(text.split(':::')[1] || '') || Object.entries(inp.request.contextVariables).some(([k, v]) =>
          vars.includes(k.toLowerCase()) && list(v).some((x) => /[A-Z]/.test(x)))
      }))),
  },
  'not-ip-address-across-families': {
    kind: 'aws-docs',
    title: 'NotIpAddress with an IPv4 range and an IPv6 caller (or the reverse): the address is not in the range, so it matches; the simulator does not match',
    decides: 'NotIpAddress: "Negated matching for IP address or range" - IAM User Guide, Condition operators, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress; AWS\'s own IPv4+IPv6 example (S3 User Guide, bucket policy examples, "Allowing IPv4 and IPv6 addresses") lists both families in one NotIpAddress for this reason',
    match: (inp) => {
      const ip = list(inp.request.contextVariables['aws:SourceIp'])[0]
      if (!ip) return false
      const v6 = ip.includes(':')
      return allStatements(inp).some(({ s }) => Object.entries(s.Condition || {}).some(([op, keys]) =>
        /^NotIpAddress/.test(op) && Object.values(keys).some((v) => list(v).some((x) => String(x).includes(':') !== v6))))
    },
  },
  'anonymous-userid-and-principal-type-undocumented': {
    kind: 'denies',
    title: 'an anonymous caller\'s aws:userid or aws:PrincipalType compared (in a condition, or as a policy variable): AWS does not document the value, so the comparison takes the reading that denies; the simulator compares "anonymous"',
    decides: 'aws:userid and aws:PrincipalType are present on anonymous requests, their values UNCONFIRMED (IAM-SEMANTICS.md 2, 6: only secondary sources say "anonymous" and "Anonymous") - eval.c policy_context_set_principal, condition.c eval_key; cases/conditions.json names the choice',
    match: (inp, caller, ours) => caller.type === 'anonymous' && isDeny(ours) && !hasKey(inp, 'aws:userid') && !hasKey(inp, 'aws:PrincipalType') &&
      allStatements(inp).some(({ s }) => /aws:userid|aws:principaltype/i.test(JSON.stringify([s.Condition || {}, s.Resource || [], s.NotResource || []]))),
  },
  'wildcard-in-variable-value': {
    kind: 'denies',
    title: 'a policy variable whose value holds * or ?: a wildcard where that widens a Deny, text where a wildcard would widen an Allow; the simulator reads it one way throughout',
    decides: 'Whether a * or ? inside a substituted value is a wildcard is UNCONFIRMED (IAM-SEMANTICS.md 5); s3warden takes the reading that denies - match.c pattern_match_wild_values, eval.c resource_matches, condition.c match_one; cases/conditions.json names the choice',
    match: (inp, caller, ours) => isDeny(ours) && variableValues(inp).some((v) => list(v).some((x) => /[*?]/.test(String(x)))),
  },
  'multivalued-key-as-variable': {
    kind: 'denies',
    title: 'a policy variable naming a multivalued key: a Deny\'s entry or condition may match anything, an Allow\'s matches nothing; the simulator substitutes it',
    decides: 'AWS: multivalued keys cannot be used as variables (IAM-SEMANTICS.md 5), not what happens when one is; s3warden takes the reading that denies - match.c pattern_resolve; cases/conditions.json names the choice',
    match: (inp, caller, ours) => isDeny(ours) && variableValues(inp).some((v) => Array.isArray(v)),
  },
  'foranyvalue-negated-operator': {
    kind: 'denies',
    title: 'ForAnyValue with a negated operator: a Deny holds when some request value matches none or the key is absent, an Allow only when no request value matches any; the simulator reads "some value matches none" throughout',
    decides: 'ForAnyValue with a negated operator is UNCONFIRMED (IAM-SEMANTICS.md 4.4: "by analogy"); s3warden takes the reading that denies - condition.c eval_key; cases/conditions.json and test_global_keys name the choice',
    match: (inp, caller, ours) => isDeny(ours) && allStatements(inp).some(({ s }) => Object.keys(s.Condition || {}).some((op) => /^ForAnyValue:.*Not/i.test(op))),
  },
  'wildcard-in-request-resource': {
    kind: 'harness',
    title: 'an object key holding * or ? (the ${*} and ${?} escapes need one): the simulator reads the request resource as a pattern',
    decides: 'the simulator runs a wildcard request resource as several simulations (its WildcardSimulationResourceResult); S3 object keys are literal, so the two engines answer different questions',
    match: (inp) => /[*?]/.test(inp.request.resource.resource),
  },
}

export function classify(inp, caller, ours, theirs) {
  for (const [name, c] of Object.entries(CLASSES)) if (c.match(inp, caller, ours, theirs)) return name
  return null
}
