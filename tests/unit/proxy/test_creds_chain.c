/*
 * test_creds_chain.c - the parts of the credential manager that need no
 * endpoint (creds_internal.h): the chain's deep copy and reload comparison,
 * the environment read once, the walk over providers that need no network
 * (static, env), and the error and header helpers. The providers that talk
 * to IMDS, the container endpoint and STS are in test_creds_fetch.c,
 * against real local servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "creds_internal.h"

/* A stub environment that counts its lookups. */
struct env {
    const char *kv[8][2];
    int lookups;
};

static const char *env_get(void *ud, const char *name)
{
    struct env *e = ud;
    e->lookups++;
    for (int i = 0; i < 8 && e->kv[i][0]; i++)
        if (strcmp(e->kv[i][0], name) == 0)
            return e->kv[i][1];
    return NULL;
}

static struct config_cred_provider static_prov(char *akid, char *secret)
{
    struct config_cred_provider p = { .source = CONFIG_CRED_STATIC };
    p.access_key_id = akid;
    p.secret_access_key = secret;
    return p;
}

static void test_chain_copies_and_defaults(void **state)
{
    (void)state;
    char akid[] = "AKIDSTATIC0000000001", secret[] = "s3cr3t";
    struct config_cred_provider prov[1] = { static_prov(akid, secret) };
    struct config_credentials cc = { .chain = prov, .nchain = 1, .refresh_before_seconds = 300 };
    struct env e = { .kv = { { "HOME", "/home/x" }, { "AWS_PROFILE", "" } } };
    struct creds_mgr_opts o = { .getenv = env_get, .getenv_ud = &e };
    struct chain *c = cf_chain_new(&cc, &o);
    assert_non_null(c);
    /* deep copies: the config may be freed (or change) after the call */
    memset(akid, 'X', sizeof akid - 1);
    assert_string_equal(c->p[0].access_key_id, "AKIDSTATIC0000000001");
    assert_string_equal(c->p[0].secret, "s3cr3t");
    assert_string_equal(c->region, "us-east-1");
    assert_int_equal(c->timeout_ms, 5000);
    assert_int_equal(c->connect_timeout_ms, 1000);
    assert_int_equal(c->refresh_before, 300);
    /* the environment, read once; an empty variable counts as unset */
    assert_int_equal(e.lookups, E_N);
    assert_string_equal(cf_chain_env(c, "HOME"), "/home/x");
    assert_null(cf_chain_env(c, "AWS_PROFILE"));
    e.kv[0][1] = "/elsewhere";
    assert_string_equal(cf_chain_env(c, "HOME"), "/home/x");
    assert_int_equal(e.lookups, E_N);
    /* a name the providers never read is not in the snapshot */
    assert_null(cf_chain_env(c, "PATH"));
    cf_chain_unref(c);
}

/* Reload: the same configuration is "same" whatever the environment; any
 * one field changed is not. */
static void test_chain_same(void **state)
{
    (void)state;
    char akid[] = "AKIDSTATIC0000000001", s1[] = "secret-one", s2[] = "secret-two";
    char arn[] = "arn:aws:iam::123456789012:role/r";
    struct config_cred_provider p1[1] = { static_prov(akid, s1) };
    struct config_cred_provider p2[1] = { static_prov(akid, s2) };
    struct config_credentials a = { .chain = p1, .nchain = 1, .refresh_before_seconds = 300 };
    struct config_credentials b = a;
    struct env e1 = { .kv = { { "HOME", "/a" } } }, e2 = { .kv = { { "HOME", "/b" } } };
    struct creds_mgr_opts o1 = { .getenv = env_get, .getenv_ud = &e1 };
    struct creds_mgr_opts o2 = { .getenv = env_get, .getenv_ud = &e2 };

    struct chain *x = cf_chain_new(&a, &o1), *y = cf_chain_new(&b, &o2);
    assert_true(cf_chain_same(x, y));
    cf_chain_unref(y);

    b.chain = p2; /* another secret */
    y = cf_chain_new(&b, &o1);
    assert_false(cf_chain_same(x, y));
    cf_chain_unref(y);

    b = a;
    b.assume_role.enabled = true;
    b.assume_role.role_arn = arn;
    y = cf_chain_new(&b, &o1);
    assert_false(cf_chain_same(x, y));
    cf_chain_unref(y);

    b = a;
    b.refresh_before_seconds = 60;
    y = cf_chain_new(&b, &o1);
    assert_false(cf_chain_same(x, y));
    cf_chain_unref(y);

    struct creds_mgr_opts o3 = o1;
    o3.region = "eu-west-1";
    y = cf_chain_new(&a, &o3);
    assert_false(cf_chain_same(x, y));
    cf_chain_unref(y);
    cf_chain_unref(x);
}

/* The walk: an absent provider moves on to the next; the first that
 * yields labels the result. */
static void test_walk_first_that_yields_wins(void **state)
{
    (void)state;
    char akid[] = "AKIDSTATIC0000000001", secret[] = "s3cr3t";
    struct config_cred_provider prov[2] = { { .source = CONFIG_CRED_ENV },
                                            static_prov(akid, secret) };
    struct config_credentials cc = { .chain = prov, .nchain = 2 };
    struct env e = { .kv = { { NULL, NULL } } };
    struct creds_mgr_opts o = { .getenv = env_get, .getenv_ud = &e };
    struct chain *c = cf_chain_new(&cc, &o);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct fetch f = { &stop, c };
    struct creds out;
    char label[64], reason[512];
    assert_int_equal(cf_fetch_chain(&f, &out, label, sizeof label, reason, sizeof reason),
                     CREDS_OK);
    assert_string_equal(label, "static");
    assert_string_equal(out.access_key_id, "AKIDSTATIC0000000001");
    assert_string_equal(out.secret_access_key, "s3cr3t");
    assert_int_equal(out.expiration, 0);
    creds_wipe(&out);
    cf_chain_unref(c);
}

/* None yields: the reason names each provider and why, in order. */
static void test_walk_reason_lists_every_provider(void **state)
{
    (void)state;
    struct config_cred_provider prov[2] = { { .source = CONFIG_CRED_ENV },
                                            { .source = CONFIG_CRED_STATIC } };
    struct config_credentials cc = { .chain = prov, .nchain = 2 };
    struct env e = { .kv = { { NULL, NULL } } };
    struct creds_mgr_opts o = { .getenv = env_get, .getenv_ud = &e };
    struct chain *c = cf_chain_new(&cc, &o);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct fetch f = { &stop, c };
    struct creds out;
    char label[64], reason[512];
    assert_int_equal(cf_fetch_chain(&f, &out, label, sizeof label, reason, sizeof reason),
                     CREDS_E_ABSENT);
    assert_string_equal(reason, "env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; "
                                "static: no static keys");
    cf_chain_unref(c);
}

static void test_err_prefix(void **state)
{
    (void)state;
    struct creds_error err;
    assert_int_equal(cf_err(&err, CREDS_E_REMOTE, "STS answered HTTP %d", 403), CREDS_E_REMOTE);
    assert_int_equal(cf_err_prefix(&err, CREDS_E_REMOTE, "AssumeRole %s", "arn:x"),
                     CREDS_E_REMOTE);
    assert_string_equal(err.message, "AssumeRole arn:x: STS answered HTTP 403");
}

/* A header line is appended whole or refused, never cut (a cut token or
 * signature is a request that cannot be right). */
static void test_header_add_refuses_overlong_lines(void **state)
{
    (void)state;
    struct creds_error err;
    struct curl_slist *h = NULL;
    assert_int_equal(cf_header_add(&h, &err, "Host: %s", "sts.amazonaws.com"), CREDS_OK);
    size_t n = CREDS_MAX_TOKEN + 200;
    char *tok = malloc(n + 1);
    assert_non_null(tok);
    memset(tok, 'T', n);
    tok[n] = '\0';
    assert_int_equal(cf_header_add(&h, &err, "X-Amz-Security-Token: %s", tok),
                     CREDS_E_INVALID);
    char want[96];
    snprintf(want, sizeof want, "a request header is longer than %u bytes",
             CREDS_MAX_TOKEN + 127);
    assert_string_equal(err.message, want);
    /* the list holds only the first line */
    assert_non_null(h);
    assert_string_equal(h->data, "Host: sts.amazonaws.com");
    assert_null(h->next);
    /* a session token at the cap fits */
    tok[CREDS_MAX_TOKEN] = '\0';
    assert_int_equal(cf_header_add(&h, &err, "X-Amz-Security-Token: %s", tok), CREDS_OK);
    assert_non_null(h->next);
    free(tok);
    cf_slist_free_wiped(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_copies_and_defaults),
        cmocka_unit_test(test_chain_same),
        cmocka_unit_test(test_walk_first_that_yields_wins),
        cmocka_unit_test(test_walk_reason_lists_every_provider),
        cmocka_unit_test(test_err_prefix),
        cmocka_unit_test(test_header_add_refuses_overlong_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
