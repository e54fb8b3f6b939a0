/* fuzz_listbuckets.c - the ListBuckets filter (proxy/listbuckets.c) on
 * arbitrary upstream documents. The first input byte picks the caller and
 * the unlisted-bucket mode. Oracles (fail closed, listbuckets.h):
 *  - every <Name> in an accepted output is a bucket the caller may see
 *    (its own configured buckets; under caller_account any name that no
 *    config entry names, local or upstream);
 *  - an accepted output is accepted again and comes out unchanged (the
 *    config renames nothing, so the filter is idempotent on its output):
 *    the output is within the grammar a client parser reads the same way. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "listbuckets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfgs[2];

static struct config *load(bool caller_account)
{
    static const char base[] =
        "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
        "\"accounts\":[{\"id\":\"111111111111\"},{\"id\":\"222222222222\"}],"
        "\"buckets\":[{\"name\":\"mine\",\"account\":\"111111111111\"},"
        "{\"name\":\"theirs\",\"account\":\"222222222222\"}]";
    char json[1024];
    size_t n = strlen(base);
    memcpy(json, base, n);
    const char *tail = caller_account ? ",\"unlisted_buckets\":\"caller_account\"}" : "}";
    memcpy(json + n, tail, strlen(tail) + 1);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    if (config_load_buffer("fuzz", json, strlen(json), NULL, &cfg, &errs) != CONFIG_OK)
        __builtin_trap();
    config_errors_cleanup(&errs);
    return cfg;
}

static bool may_see(const char *acct, bool caller_account, const char *n, size_t len)
{
    struct s3w_slice s = s3w_slice(n, len);
    if (s3w_slice_eq_cstr(s, "mine"))
        return strcmp(acct, "111111111111") == 0;
    if (s3w_slice_eq_cstr(s, "theirs"))
        return strcmp(acct, "222222222222") == 0;
    return caller_account && acct[0] != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool ca = data[0] & 1;
    static const char *const accts[] = { "111111111111", "222222222222", "333333333333", "" };
    const char *acct = accts[(data[0] >> 1) & 3];
    if (!cfgs[ca])
        cfgs[ca] = load(ca);
    struct s3w_slice in = s3w_slice((const char *)data + 1, size - 1);
    struct s3w_buf out, again;
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    s3w_buf_init(&again, LISTBUCKETS_MAX_BODY);
    if (listbuckets_filter(cfgs[ca], s3w_slice_cstr(acct), in, &out) == 0) {
        const char *p = out.ptr, *end = out.ptr + out.len;
        while (p && (size_t)(end - p) >= 6) {
            const char *q = memmem(p, (size_t)(end - p), "<Name>", 6);
            if (!q)
                break;
            q += 6;
            const char *e = memmem(q, (size_t)(end - q), "</Name>", 7);
            if (!e || !may_see(acct, ca, q, (size_t)(e - q)))
                __builtin_trap();
            p = e;
        }
        if (listbuckets_filter(cfgs[ca], s3w_slice_cstr(acct), s3w_buf_slice(&out), &again) != 0 ||
            again.len != out.len || (out.len && memcmp(again.ptr, out.ptr, out.len) != 0))
            __builtin_trap();
    }
    s3w_buf_cleanup(&out);
    s3w_buf_cleanup(&again);
    return 0;
}
