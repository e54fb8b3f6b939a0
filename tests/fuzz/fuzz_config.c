/* libFuzzer target: the config loader (config_load_buffer) and, with the
 * same bytes, the untrusted-input parsers of config/: session tokens
 * (config_resolve with an ASIA key) and the STS form body (sts_handle).
 *
 * The first byte picks the mode so one corpus covers all three:
 *   0x00..0x7f  the whole input is a config file (JSON)
 *   0x80..0xbf  the rest is a session token presented with an ASIA key id
 *   0xc0..0xff  the rest is an STS form body from a fixed signed-in user
 * Relative *_file references resolve under a directory that does not exist,
 * so the fuzzer never reads real files. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "identity.h"
#include "sts.h"

static const char fixed_config[] =
    "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
    "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
    "\"accounts\":[{\"id\":\"111111111111\",\"access_keys\":[{\"id\":\"AKIAROOT000000000001\","
    "\"secret\":\"rootsecretrootsecretrootsecretroot000001\"}]}],"
    "\"roles\":[{\"account\":\"111111111111\",\"name\":\"r\",\"unique_id\":\"AROAROLER0000000001\","
    "\"trust_policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
    "\"Principal\":{\"AWS\":\"111111111111\"},\"Action\":[\"sts:AssumeRole\",\"sts:TagSession\","
    "\"sts:SetSourceIdentity\"]}]}}],"
    "\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"a\",\"key\":"
    "\"aa00000000000000000000000000000000000000000000000000000000000001\",\"active\":true}]}}";

static struct config *fixed(void)
{
    static struct config *cfg;
    if (!cfg) {
        struct config_errors errs;
        config_errors_init(&errs);
        if (config_load_buffer("fixed.json", fixed_config, sizeof fixed_config - 1, NULL, &cfg,
                               &errs) != CONFIG_OK)
            abort();
        config_errors_cleanup(&errs);
    }
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    if (mode < 0x80) {
        struct config_errors errs;
        config_errors_init(&errs);
        struct config *cfg = NULL;
        int rc = config_load_buffer("fuzz.json", (const char *)data, size,
                                    "/nonexistent-s3warden-fuzz", &cfg, &errs);
        if (rc == CONFIG_OK) {
            if (!cfg || errs.n)
                abort();
            config_unref(cfg);
        } else if (cfg) {
            abort(); /* never a partial snapshot */
        }
        config_errors_cleanup(&errs);
        return 0;
    }
    struct config *cfg = fixed();
    struct config_identity *id = calloc(1, sizeof *id);
    if (!id)
        return 0;
    config_identity_anonymous(id);
    struct s3w_slice rest = s3w_slice((const char *)data + 1, size - 1);
    if (mode < 0xc0) {
        uint8_t secret[128];
        size_t n;
        int rc = config_resolve(cfg, S3W_SLICE_LIT("ASIAAAAAAAAAAAAAAAAA"), rest, 1700000000, id,
                                secret, sizeof secret, &n);
        if (rc == CONFIG_AUTH_OK)
            abort(); /* a forged token must never verify */
    } else {
        uint8_t secret[128];
        size_t n;
        if (config_resolve(cfg, S3W_SLICE_LIT("AKIAROOT000000000001"), S3W_SLICE_NULL, 1700000000,
                           id, secret, sizeof secret, &n) != CONFIG_AUTH_OK)
            abort();
        struct sts_response r;
        sts_response_init(&r);
        sts_handle(cfg, id, rest, 1700000000, S3W_SLICE_LIT("fuzz"), &r);
        if (r.status == 0)
            abort();
        sts_response_cleanup(&r);
    }
    config_identity_cleanup(id);
    free(id);
    return 0;
}
