/*
 * canonical.c - the canonical request and the string to sign (AWS SigV4
 * docs, "Create a canonical request" and "Create a string to sign";
 * S3 API Reference, "Signature Calculations for the Authorization Header").
 *
 * All writers append to a capped s3w_buf. Scratch space is on the stack
 * (bounded by SIGV4_MAX_CANONICAL / SIGV4_MAX_QUERY_PARAMS); nothing here
 * allocates except the output buffer's own growth.
 */
#include <stdlib.h>

#include "sigv4_core_int.h"

/* Appends with an inline fast path: the canonical request is built from many
 * small pieces, and with a reused (per-worker) buffer the room is almost
 * always there; reserve() + s3w_buf_append per piece were ~20% of the
 * samples of a cached verification (perf on bench_sigv4). Same
 * contract as s3w_buf_append: the cap (max) is still enforced. */
static inline int app(struct s3w_buf *b, const void *p, size_t n)
{
    if (b->ptr && n < b->cap - b->len && b->len + n <= b->max) {
        memcpy(b->ptr + b->len, p, n);
        b->len += n;
        b->ptr[b->len] = '\0';
        return 0;
    }
    return s3w_buf_append(b, p, n);
}

static inline int app_char(struct s3w_buf *b, char c)
{
    return app(b, &c, 1);
}

static inline int app_slice(struct s3w_buf *b, struct s3w_slice s)
{
    return app(b, s.ptr, s.len);
}

static inline bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* Encoded length of in (for sizing). */
static size_t enc_len(struct s3w_slice in, bool keep_slash)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        n += (unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;
    }
    return n;
}

/* Encodes into dst (which has room for enc_len bytes). */
static char *enc_into(char *dst, struct s3w_slice in, bool keep_slash)
{
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            *dst++ = (char)c;
        } else {
            *dst++ = '%';
            *dst++ = s3w_hex_upper[c >> 4];
            *dst++ = s3w_hex_upper[c & 15];
        }
    }
    return dst;
}

/* AWS: "URI-encode each byte ... letters, digits, '-', '.', '_', '~' are not
 * encoded ... hexadecimal digits in upper case". */
int sigv4_uri_encode(struct s3w_slice in, bool keep_slash, struct s3w_buf *out)
{
    char tmp[256];
    size_t i = 0;
    /* Encode in pieces of up to 64 input bytes (<= 192 output bytes) so no
     * scratch space proportional to the input is needed. */
    while (i < in.len) {
        size_t n = in.len - i < 64 ? in.len - i : 64;
        char *e = enc_into(tmp, s3w_slice(in.ptr + i, n), keep_slash);
        int rc = app(out, tmp, (size_t)(e - tmp));
        if (rc)
            return rc;
        i += n;
    }
    return 0;
}

enum sigv4_uri_mode sigv4_uri_mode_for_service(struct s3w_slice service)
{
    /* S3 and its variants share S3's single-encode, no-normalise rule. */
    if (s3w_slice_eq_cstr(service, "s3") ||
        s3w_slice_eq_cstr(service, "s3-object-lambda") ||
        s3w_slice_eq_cstr(service, "s3express") ||
        s3w_slice_eq_cstr(service, "s3-outposts"))
        return SIGV4_URI_S3;
    return SIGV4_URI_GENERIC;
}

/* ---- canonical URI ------------------------------------------------------- */

/* S3: decode each segment once from the wire, then encode it with the
 * unreserved set. `%2F` inside a segment decodes to '/' and is re-encoded as
 * %2F (it is part of the key, not a separator). "/" segments are never
 * collapsed and "." / ".." are kept: S3 object keys may contain them
 * (S3 API Reference, sig-v4-header-based-auth: "Amazon S3 ... URI-encoded
 * once"; normalize-path.txt in the 2015 suite: "S3 does not normalize"). */
static int uri_s3(struct s3w_slice p, struct s3w_buf *out)
{
    char dec[512];
    size_t i = 0;
    int rc;

    if (p.len == 0 || p.ptr[0] != '/') {
        rc = app_char(out, '/');
        if (rc)
            return rc;
    }
    while (i <= p.len) {
        size_t j = i;
        while (j < p.len && p.ptr[j] != '/')
            j++;
        /* Segment [i, j); decode in pieces that end on a whole escape. */
        size_t k = i;
        while (k < j) {
            size_t take = j - k < 384 ? j - k : 384;
            /* do not split a %XX escape across pieces */
            if (k + take < j) {
                if (take >= 1 && p.ptr[k + take - 1] == '%')
                    take -= 1;
                else if (take >= 2 && p.ptr[k + take - 2] == '%')
                    take -= 2;
            }
            long dl = s3w_pct_decode(s3w_slice(p.ptr + k, take), dec, sizeof dec, 0);
            if (dl < 0)
                return (int)dl;
            rc = sigv4_uri_encode(s3w_slice(dec, (size_t)dl), false, out);
            if (rc)
                return rc;
            k += take;
        }
        if (j < p.len) {
            rc = app_char(out, '/');
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

/* Non-S3 services: RFC 3986 section 5.2.4 remove_dot_segments plus empty
 * segments dropped (aws-c-auth normalises "//example//" to "/example/"),
 * then the path is encoded once more as it stands ("each path segment must
 * be URI-encoded twice": the wire form is already encoded once). */
static int uri_generic(struct s3w_slice p, bool normalize, struct s3w_buf *out)
{
    if (!normalize) {
        int rc = 0;
        if (p.len == 0 || p.ptr[0] != '/')
            rc = app_char(out, '/');
        return rc ? rc : sigv4_uri_encode(p, true, out);
    }

    /* Segment stack: offsets into p. */
    enum { MAXSEG = 256 };
    size_t so[MAXSEG], sl[MAXSEG];
    size_t ns = 0;
    bool trailing = false;
    size_t i = 0;
    while (i < p.len) {
        if (p.ptr[i] == '/') {
            i++;
            trailing = true;
            continue;
        }
        size_t j = i;
        while (j < p.len && p.ptr[j] != '/')
            j++;
        struct s3w_slice seg = s3w_slice(p.ptr + i, j - i);
        if (s3w_slice_eq_cstr(seg, ".")) {
            trailing = true;
        } else if (s3w_slice_eq_cstr(seg, "..")) {
            if (ns)
                ns--;
            trailing = true;
        } else {
            if (ns == MAXSEG)
                return S3W_E_TOOBIG;
            so[ns] = i;
            sl[ns] = j - i;
            ns++;
            trailing = false;
        }
        i = j;
    }
    int rc = app_char(out, '/');
    for (size_t s = 0; s < ns && !rc; s++) {
        rc = sigv4_uri_encode(s3w_slice(p.ptr + so[s], sl[s]), false, out);
        if (!rc && (s + 1 < ns || trailing))
            rc = app_char(out, '/');
    }
    return rc;
}

int sigv4_canonical_uri(struct s3w_slice raw_path, enum sigv4_uri_mode mode,
                        struct s3w_buf *out)
{
    switch (mode) {
    case SIGV4_URI_S3:
        return uri_s3(raw_path, out);
    case SIGV4_URI_GENERIC:
        return uri_generic(raw_path, true, out);
    case SIGV4_URI_GENERIC_UNNORMALIZED:
        return uri_generic(raw_path, false, out);
    }
    return S3W_E_INVAL;
}

/* ---- canonical query ------------------------------------------------------ */

struct qparam {
    uint32_t k, kl, v, vl;     /* offsets into the scratch buffer */
};

static int qcmp(const void *a, const void *b, void *arg)
{
    const struct qparam *x = a, *y = b;
    const char *s = arg;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(s + x->k, s + y->k, n);
    if (c)
        return c;
    if (x->kl != y->kl)
        return x->kl < y->kl ? -1 : 1;
    n = x->vl < y->vl ? x->vl : y->vl;
    c = memcmp(s + x->v, s + y->v, n);
    if (c)
        return c;
    return x->vl == y->vl ? 0 : (x->vl < y->vl ? -1 : 1);
}

/* Decodes then re-encodes one component into scratch at *pos. */
static int qcomp(struct s3w_slice raw, char *scratch, size_t cap, size_t *pos,
                 uint32_t *off, uint32_t *len)
{
    char dec[1024];
    size_t start = *pos;
    size_t i = 0;
    while (i < raw.len) {
        size_t take = raw.len - i < 768 ? raw.len - i : 768;
        if (i + take < raw.len) {
            if (raw.ptr[i + take - 1] == '%')
                take -= 1;
            else if (raw.ptr[i + take - 2] == '%')
                take -= 2;
        }
        long dl = s3w_pct_decode(s3w_slice(raw.ptr + i, take), dec, sizeof dec, 0);
        if (dl < 0)
            return (int)dl;
        struct s3w_slice d = s3w_slice(dec, (size_t)dl);
        size_t el = enc_len(d, false);
        if (el > cap - *pos)
            return S3W_E_TOOBIG;
        enc_into(scratch + *pos, d, false);
        *pos += el;
        i += take;
    }
    *off = (uint32_t)start;
    *len = (uint32_t)(*pos - start);
    return 0;
}

/* AWS: "Sort the parameter names by character code point in ascending order.
 * Parameters with duplicate names should be sorted by value." Sorting is on
 * the encoded forms (byte order), so "%E1%88%B4" < "Param" (the aws-c-auth
 * get-vanilla-query-order-encoded case). A parameter without "=" has an
 * empty value and canonicalises as "name=" (S3's "?lifecycle"). "+" is not a
 * space here: SigV4 signers encode a space as %20, and a literal "+" on the
 * wire is signed as %2B (botocore and curl do the same). */
int sigv4_canonical_query(struct s3w_slice raw_query, bool exclude_signature,
                          struct s3w_buf *out)
{
    char scratch[SIGV4_MAX_CANONICAL];
    struct qparam qp[SIGV4_MAX_QUERY_PARAMS];
    size_t np = 0, pos = 0;
    size_t i = 0;
    int rc;

    while (i < raw_query.len) {
        size_t j = i;
        while (j < raw_query.len && raw_query.ptr[j] != '&')
            j++;
        if (j > i) {
            struct s3w_slice piece = s3w_slice(raw_query.ptr + i, j - i);
            size_t eq = 0;
            while (eq < piece.len && piece.ptr[eq] != '=')
                eq++;
            struct s3w_slice k = s3w_slice(piece.ptr, eq);
            struct s3w_slice v = eq < piece.len
                ? s3w_slice(piece.ptr + eq + 1, piece.len - eq - 1)
                : S3W_SLICE_NULL;
            if (np == SIGV4_MAX_QUERY_PARAMS)
                return S3W_E_INVAL;
            rc = qcomp(k, scratch, sizeof scratch, &pos, &qp[np].k, &qp[np].kl);
            if (!rc)
                rc = qcomp(v, scratch, sizeof scratch, &pos, &qp[np].v,
                           &qp[np].vl);
            if (rc)
                return rc;
            /* The encoded key equals "X-Amz-Signature" only if the decoded
             * one does (all its bytes are unreserved). */
            if (exclude_signature &&
                s3w_slice_eq_cstr(s3w_slice(scratch + qp[np].k, qp[np].kl),
                                  "X-Amz-Signature"))
                pos = qp[np].k;     /* drop it, reuse its scratch space */
            else
                np++;
        }
        i = j + 1;
    }
    qsort_r(qp, np, sizeof qp[0], qcmp, scratch);
    for (size_t p = 0; p < np; p++) {
        if (p && (rc = app_char(out, '&')))
            return rc;
        if ((rc = app(out, scratch + qp[p].k, qp[p].kl)) ||
            (rc = app_char(out, '=')) ||
            (rc = app(out, scratch + qp[p].v, qp[p].vl)))
            return rc;
    }
    return 0;
}

/* ---- canonical headers ---------------------------------------------------- */

/* Appends one value trimmed, with every inner run of whitespace collapsed to
 * one space (AWS: "Trimall"; aws-c-auth get-header-value-trim: even inside
 * double quotes).
 *
 * get-header-value-multiline: the 2015 suite turns obs-fold continuation
 * lines into ",value2,value3"; aws-c-auth turns them into " value2 value3".
 * We take aws-c-auth's reading: RFC 7230 section 3.2.4 says a recipient
 * replaces each obs-fold with SP before interpreting the field, so a
 * continuation is whitespace inside ONE value, not a new value; it is also
 * what current AWS SDKs (all built on aws-c-auth or matching it) sign. It
 * only matters for that test vector: the HTTP layer rejects obs-fold with
 * 400 before a request gets here. CR and LF therefore count as whitespace
 * and a continuation collapses to a single space. */
static int append_trimall(struct s3w_buf *out, struct s3w_slice v)
{
    v = s3w_slice_trim(v);
    size_t i = 0;
    while (i < v.len) {
        size_t j = i;
        while (j < v.len && !sigv4_int_ws(v.ptr[j]))
            j++;
        int rc = app(out, v.ptr + i, j - i);
        if (rc)
            return rc;
        if (j < v.len) {
            if ((rc = app_char(out, ' ')))
                return rc;
            while (j < v.len && sigv4_int_ws(v.ptr[j]))
                j++;
        }
        i = j;
    }
    return 0;
}

static int append_lower(struct s3w_buf *out, struct s3w_slice s)
{
    char tmp[128];
    size_t i = 0;
    bool upper = false;
    for (size_t k = 0; k < s.len && !upper; k++)
        upper = s.ptr[k] >= 'A' && s.ptr[k] <= 'Z';
    if (!upper) /* the usual case: SignedHeaders are lower-case already */
        return app(out, s.ptr, s.len);
    while (i < s.len) {
        size_t n = s.len - i < sizeof tmp ? s.len - i : sizeof tmp;
        for (size_t k = 0; k < n; k++) {
            char c = s.ptr[i + k];
            tmp[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        int rc = app(out, tmp, n);
        if (rc)
            return rc;
        i += n;
    }
    return 0;
}

/* Repeated headers: every value in request order joined with "," (not
 * sorted, not de-duplicated: get-header-key-duplicate expects
 * "value2,value2,value1"). */
int sigv4_canonical_headers(const struct s3w_header *headers, size_t n,
                            struct s3w_slice signed_headers,
                            struct s3w_buf *out)
{
    size_t i = 0;
    int rc;
    while (i < signed_headers.len) {
        size_t j = i;
        while (j < signed_headers.len && signed_headers.ptr[j] != ';')
            j++;
        struct s3w_slice name = s3w_slice(signed_headers.ptr + i, j - i);
        if (name.len == 0)
            return S3W_E_INVAL;
        if ((rc = append_lower(out, name)) ||
            (rc = app_char(out, ':')))
            return rc;
        bool found = false;
        for (size_t h = 0; h < n; h++) {
            /* length first: most names differ there, and the call into
             * bytes.c is not inlined */
            if (headers[h].name.len != name.len ||
                !s3w_slice_eq_nocase(headers[h].name, name))
                continue;
            if (found && (rc = app_char(out, ',')))
                return rc;
            if ((rc = append_trimall(out, headers[h].value)))
                return rc;
            found = true;
        }
        if (!found)
            return S3W_E_INVAL;
        if ((rc = app_char(out, '\n')))
            return rc;
        i = j + 1;
    }
    return 0;
}

int sigv4_canonical_request(const struct sigv4_request *req,
                            enum sigv4_uri_mode mode,
                            struct s3w_slice signed_headers,
                            struct s3w_slice payload_hash,
                            bool exclude_signature, struct s3w_buf *out)
{
    struct s3w_slice path = req->target, query = S3W_SLICE_NULL;
    for (size_t i = 0; i < req->target.len; i++) {
        if (req->target.ptr[i] == '?') {
            path = s3w_slice(req->target.ptr, i);
            query = s3w_slice(req->target.ptr + i + 1, req->target.len - i - 1);
            break;
        }
    }
    int rc;
    if ((rc = app_slice(out, req->method)) ||
        (rc = app_char(out, '\n')) ||
        (rc = sigv4_canonical_uri(path, mode, out)) ||
        (rc = app_char(out, '\n')) ||
        (rc = sigv4_canonical_query(query, exclude_signature, out)) ||
        (rc = app_char(out, '\n')) ||
        (rc = sigv4_canonical_headers(req->headers, req->n_headers,
                                      signed_headers, out)) ||
        (rc = app_char(out, '\n')) ||
        (rc = append_lower(out, signed_headers)) ||
        (rc = app_char(out, '\n')) ||
        (rc = app_slice(out, payload_hash)))
        return rc;
    return 0;
}

/* sigv4_core_int.h */
size_t sigv4_int_sts_build(char *out, size_t cap, struct s3w_slice alg,
                           struct s3w_slice date, struct s3w_slice scope,
                           struct s3w_slice creq)
{
    size_t need = alg.len + 1 + date.len + 1 + scope.len + 1 + 64;
    if (need > cap)
        return 0;
    uint8_t h[32];
    char *p = out;
    sigv4_sha256(creq.ptr, creq.len, h);
    memcpy(p, alg.ptr, alg.len);
    p += alg.len;
    *p++ = '\n';
    memcpy(p, date.ptr, date.len);
    p += date.len;
    *p++ = '\n';
    memcpy(p, scope.ptr, scope.len);
    p += scope.len;
    *p++ = '\n';
    char hex[65];
    s3w_hex_encode(h, 32, hex);
    memcpy(p, hex, 64);
    return need;
}

int sigv4_string_to_sign(struct s3w_slice algorithm, struct s3w_slice amz_date,
                         struct s3w_slice scope,
                         struct s3w_slice canonical_request,
                         struct s3w_buf *out)
{
    uint8_t h[32];
    char hex[65];
    sigv4_sha256(canonical_request.ptr, canonical_request.len, h);
    s3w_hex_encode(h, 32, hex);
    int rc;
    if ((rc = app_slice(out, algorithm)) ||
        (rc = app_char(out, '\n')) ||
        (rc = app_slice(out, amz_date)) ||
        (rc = app_char(out, '\n')) ||
        (rc = app_slice(out, scope)) ||
        (rc = app_char(out, '\n')) ||
        (rc = app(out, hex, 64)))
        return rc;
    return 0;
}
