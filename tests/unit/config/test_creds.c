/* The pure parts of the proxy's credential providers (config/creds.c):
 * env, shared credentials/config profiles, IMDS / container JSON, STS XML,
 * ISO 8601 times, refresh and retry timing. Expected epoch values were
 * computed independently (Python datetime). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "creds.h"

/* ---- env ---- */
struct envtab {
    const char *const *kv; /* name, value, name, value, ..., NULL */
};

static const char *tab_get(void *ud, const char *name)
{
    const struct envtab *t = ud;
    for (size_t i = 0; t->kv[i]; i += 2)
        if (strcmp(t->kv[i], name) == 0)
            return t->kv[i + 1];
    return NULL;
}

static void test_env(void **state)
{
    (void)state;
    struct creds c;
    struct creds_error e;
    static const char *const full[] = { "AWS_ACCESS_KEY_ID", "AKIAENV", "AWS_SECRET_ACCESS_KEY",
                                        "envsecret", "AWS_SESSION_TOKEN", "tok", NULL };
    struct envtab t = { full };
    assert_int_equal(creds_from_env(tab_get, &t, &c, &e), CREDS_OK);
    assert_string_equal(c.access_key_id, "AKIAENV");
    assert_string_equal(c.secret_access_key, "envsecret");
    assert_string_equal(c.session_token, "tok");
    assert_int_equal(c.expiration, 0);

    static const char *const legacy[] = { "AWS_ACCESS_KEY_ID", "A", "AWS_SECRET_ACCESS_KEY", "S",
                                          "AWS_SECURITY_TOKEN", "old", NULL };
    t.kv = legacy;
    assert_int_equal(creds_from_env(tab_get, &t, &c, &e), CREDS_OK);
    assert_string_equal(c.session_token, "old");

    static const char *const none[] = { NULL };
    t.kv = none;
    assert_int_equal(creds_from_env(tab_get, &t, &c, &e), CREDS_E_ABSENT);

    static const char *const half[] = { "AWS_ACCESS_KEY_ID", "AKIAENV", NULL };
    t.kv = half;
    assert_int_equal(creds_from_env(tab_get, &t, &c, &e), CREDS_E_INVALID);
    assert_string_equal(e.message, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    creds_wipe(&c);
}

/* ---- profiles ---- */
static const char CREDS_FILE[] =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key = defaultsecret\n"
    "\n"
    "[s3w]\n"
    "aws_access_key_id=AKIAS3W\n"
    "  aws_secret_access_key   =   s3wsecret  \r\n"
    "aws_session_token = s3wtoken\n";

static const char CONFIG_FILE[] =
    "[default]\n"
    "region = us-east-1\n"
    "[profile s3w]\n"
    "region = eu-west-1\n"
    "aws_access_key_id = AKIAFROMCONFIG\n"
    "s3 =\n"
    "  addressing_style = path\n"
    "[profile assumer]\n"
    "role_arn = arn:aws:iam::111111111111:role/upstream\n"
    "source_profile = default\n"
    "external_id = ext-7\n"
    "role_session_name = s3w-session\n"
    "duration_seconds = 1800\n"
    "[sso-session corp]\n"
    "sso_region = us-east-1\n"
    "[profile web]\n"
    "role_arn = arn:aws:iam::111111111111:role/web\n"
    "web_identity_token_file = /var/run/secrets/token\n";

static void test_profiles(void **state)
{
    (void)state;
    struct creds_profile p;
    struct creds_error e;
    assert_int_equal(creds_profile_parse(CREDS_FILE, sizeof CREDS_FILE - 1, CONFIG_FILE,
                                         sizeof CONFIG_FILE - 1, "s3w", &p, &e),
                     CREDS_OK);
    assert_true(p.has_keys);
    /* the credentials file wins over the config file for the same key */
    assert_string_equal(p.creds.access_key_id, "AKIAS3W");
    assert_string_equal(p.creds.secret_access_key, "s3wsecret");
    assert_string_equal(p.creds.session_token, "s3wtoken");
    assert_string_equal(p.region, "eu-west-1");

    assert_int_equal(creds_profile_parse(CREDS_FILE, sizeof CREDS_FILE - 1, CONFIG_FILE,
                                         sizeof CONFIG_FILE - 1, "assumer", &p, &e),
                     CREDS_OK);
    assert_false(p.has_keys);
    assert_string_equal(p.role_arn, "arn:aws:iam::111111111111:role/upstream");
    assert_string_equal(p.source_profile, "default");
    assert_string_equal(p.external_id, "ext-7");
    assert_string_equal(p.role_session_name, "s3w-session");
    assert_int_equal(p.duration_seconds, 1800);

    assert_int_equal(creds_profile_parse(NULL, 0, CONFIG_FILE, sizeof CONFIG_FILE - 1, "web", &p,
                                         &e),
                     CREDS_OK);
    assert_string_equal(p.web_identity_token_file, "/var/run/secrets/token");

    assert_int_equal(creds_profile_parse(CREDS_FILE, sizeof CREDS_FILE - 1, NULL, 0, "default",
                                         &p, &e),
                     CREDS_OK);
    assert_string_equal(p.creds.access_key_id, "AKIADEFAULT");

    /* "corp" is an sso-session, not a profile */
    assert_int_equal(creds_profile_parse(CREDS_FILE, sizeof CREDS_FILE - 1, CONFIG_FILE,
                                         sizeof CONFIG_FILE - 1, "corp", &p, &e),
                     CREDS_E_ABSENT);
    assert_string_equal(e.message, "profile corp not found");

    static const char bad[] = "[x]\naws_access_key_id AKIA\n";
    assert_int_equal(creds_profile_parse(bad, sizeof bad - 1, NULL, 0, "x", &p, &e),
                     CREDS_E_INVALID);
    assert_string_equal(e.message, "credentials:2: expected \"key = value\"");

    static const char halfkey[] = "[x]\naws_access_key_id = AKIA\n";
    assert_int_equal(creds_profile_parse(halfkey, sizeof halfkey - 1, NULL, 0, "x", &p, &e),
                     CREDS_E_INVALID);
    assert_string_equal(e.message, "profile x has aws_access_key_id but not aws_secret_access_key");
    creds_wipe(&p.creds);
}

/* ---- IMDS / container JSON ---- */
static void test_metadata_json(void **state)
{
    (void)state;
    struct creds c;
    struct creds_error e;
    static const char imds[] =
        "{\"Code\" : \"Success\", \"LastUpdated\" : \"2017-05-17T09:04:07Z\", "
        "\"Type\" : \"AWS-HMAC\", \"AccessKeyId\" : \"ASIAIMDS\", "
        "\"SecretAccessKey\" : \"imdssecret\", \"Token\" : \"imdstoken\", "
        "\"Expiration\" : \"2017-05-17T15:09:54Z\"}";
    assert_int_equal(creds_parse_metadata_json(imds, sizeof imds - 1, &c, &e), CREDS_OK);
    assert_string_equal(c.access_key_id, "ASIAIMDS");
    assert_string_equal(c.secret_access_key, "imdssecret");
    assert_string_equal(c.session_token, "imdstoken");
    assert_int_equal(c.expiration, 1495033794);

    static const char ecs[] = "{\"RoleArn\":\"arn:aws:iam::1:role/t\",\"AccessKeyId\":\"ASIAECS\","
                              "\"SecretAccessKey\":\"ecssecret\",\"Token\":\"ecstoken\","
                              "\"Expiration\":\"2017-05-17T15:09:54.000Z\"}";
    assert_int_equal(creds_parse_metadata_json(ecs, sizeof ecs - 1, &c, &e), CREDS_OK);
    assert_string_equal(c.access_key_id, "ASIAECS");
    assert_int_equal(c.expiration, 1495033794);

    static const char failed[] = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}";
    assert_int_equal(creds_parse_metadata_json(failed, sizeof failed - 1, &c, &e),
                     CREDS_E_REMOTE);
    assert_string_equal(e.message, "AssumeRoleUnauthorizedAccess: no");

    static const char nokey[] = "{\"Code\":\"Success\",\"Token\":\"t\"}";
    assert_int_equal(creds_parse_metadata_json(nokey, sizeof nokey - 1, &c, &e), CREDS_E_INVALID);
    static const char badexp[] = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                                 "\"Expiration\":\"tomorrow\"}";
    assert_int_equal(creds_parse_metadata_json(badexp, sizeof badexp - 1, &c, &e),
                     CREDS_E_INVALID);
    assert_string_equal(e.message, "invalid Expiration \"tomorrow\"");
    assert_string_equal(c.access_key_id, ""); /* nothing half-filled */
    /* the epoch itself would read as 0, "never expires" */
    static const char epoch[] = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                                "\"Expiration\":\"1970-01-01T01:00:00+01:00\"}";
    assert_int_equal(creds_parse_metadata_json(epoch, sizeof epoch - 1, &c, &e),
                     CREDS_E_INVALID);
    assert_string_equal(e.message, "invalid Expiration \"1970-01-01T01:00:00+01:00\"");
    assert_int_equal(creds_parse_metadata_json("<html>", 6, &c, &e), CREDS_E_INVALID);
}

/* ---- STS XML ---- */
static void test_sts_xml(void **state)
{
    (void)state;
    struct creds c;
    struct creds_error e;
    static const char ok[] =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>x</SubjectFromWebIdentityToken>"
        "<Credentials><SessionToken>tok&amp;en</SessionToken>"
        "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>"
        "<Expiration>2017-05-17T15:09:54Z</Expiration><AccessKeyId>ASIAWEB</AccessKeyId>"
        "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    assert_int_equal(creds_parse_sts_xml(ok, sizeof ok - 1, &c, &e), CREDS_OK);
    assert_string_equal(c.access_key_id, "ASIAWEB");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(c.session_token, "tok&en");
    assert_int_equal(c.expiration, 1495033794);

    static const char err[] =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
        "<Type>Sender</Type><Code>AccessDenied</Code><Message>User: x is not authorized</Message>"
        "</Error><RequestId>r</RequestId></ErrorResponse>";
    assert_int_equal(creds_parse_sts_xml(err, sizeof err - 1, &c, &e), CREDS_E_REMOTE);
    assert_string_equal(e.message, "AccessDenied: User: x is not authorized");

    static const char missing[] = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                                  "<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult>"
                                  "</AssumeRoleResponse>";
    assert_int_equal(creds_parse_sts_xml(missing, sizeof missing - 1, &c, &e), CREDS_E_INVALID);

    /* a commented-out element is no element: the old substring reader took
     * the secret from the comment */
    static const char commented[] =
        "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
        "<!-- <SecretAccessKey>forged</SecretAccessKey> -->"
        "<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>real</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2017-05-17T15:09:54Z</Expiration>"
        "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    assert_int_equal(creds_parse_sts_xml(commented, sizeof commented - 1, &c, &e), CREDS_OK);
    assert_string_equal(c.secret_access_key, "real");
    assert_string_equal(e.message, "STS Credentials lack AccessKeyId, SecretAccessKey, "
                                   "SessionToken or Expiration");

    /* a NUL byte is no XML character: copied, it would cut the C string
     * (an empty key id, or a shortened secret) */
    static const char nul_id[] = "<Credentials><AccessKeyId>\0\0ASIAX</AccessKeyId>"
                                 "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
                                 "<Expiration>2017-05-17T15:09:54Z</Expiration></Credentials>";
    assert_int_equal(creds_parse_sts_xml(nul_id, sizeof nul_id - 1, &c, &e), CREDS_E_INVALID);
    assert_string_equal(e.message, "a credential field is too long or badly escaped");
    assert_string_equal(c.access_key_id, "");
    static const char nul_secret[] = "<Credentials><AccessKeyId>ASIAX</AccessKeyId>"
                                     "<SecretAccessKey>abc\0def</SecretAccessKey>"
                                     "<SessionToken>t</SessionToken>"
                                     "<Expiration>2017-05-17T15:09:54Z</Expiration></Credentials>";
    assert_int_equal(creds_parse_sts_xml(nul_secret, sizeof nul_secret - 1, &c, &e),
                     CREDS_E_INVALID);
}

/* ---- time ---- */
static void test_times(void **state)
{
    (void)state;
#define T(s) creds_parse_time(s, strlen(s))
    assert_int_equal(T("2017-05-17T15:09:54Z"), 1495033794);
    assert_int_equal(T("2017-05-17T15:09:54.123456Z"), 1495033794);
    assert_int_equal(T("2017-05-17T15:09:54-05:00"), 1495051794);
    assert_int_equal(T("2024-02-29T00:00:00Z"), 1709164800);
    assert_int_equal(T("2017-05-17 15:09:54Z"), -1);
    assert_int_equal(T("2017-13-17T15:09:54Z"), -1);
    assert_int_equal(T("2017-05-17T15:09:54"), -1);
    assert_int_equal(T("2017-05-17T15:09:54Zjunk"), -1);
    assert_int_equal(T("2017-05-17T15:09:54.Z"), -1);
    /* at or before the epoch: -1 too, never 0 ("does not expire") nor
     * another negative number */
    assert_int_equal(T("1970-01-01T00:00:00Z"), -1);
    assert_int_equal(T("1970-01-01T01:00:00+01:00"), -1);
    assert_int_equal(T("1949-12-31T23:59:59Z"), -1);
    assert_int_equal(T("1970-01-01T00:00:01Z"), 1);
#undef T

    /* refresh 300 s before a 1 h expiry */
    assert_int_equal(creds_refresh_at(1000, 1000 + 3600, 300), 1000 + 3300);
    /* 400 s left with refresh_before 300: halfway (now + 200), not now + 100 */
    assert_int_equal(creds_refresh_at(1000, 1400, 300), 1200);
    /* already expired: at once, but never in the past */
    assert_int_equal(creds_refresh_at(1000, 900, 300), 1001);
    /* static credentials: never */
    assert_int_equal(creds_refresh_at(1000, 0, 300), 0);

    assert_int_equal(creds_retry_delay_ms(0, 0.0), 500);
    assert_int_equal(creds_retry_delay_ms(0, 0.5), 750);
    assert_int_equal(creds_retry_delay_ms(3, 0.0), 4000);
    assert_int_equal(creds_retry_delay_ms(20, 0.0), 30000); /* capped at 60 s */
    assert_int_equal(creds_retry_delay_ms(20, 0.999999), 59999);
    assert_int_equal(creds_retry_delay_ms(1, 7.0), 1000); /* bad jitter input: no jitter */
}

static void test_requests(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(creds_form_assume_role("arn:aws:iam::111111111111:role/up", "s3warden",
                                            "ext id/1", 1800, &b), 0);
    assert_string_equal(b.ptr, "Action=AssumeRole&Version=2011-06-15"
                               "&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fup"
                               "&RoleSessionName=s3warden&DurationSeconds=1800"
                               "&ExternalId=ext%20id%2F1");
    assert_int_equal(creds_form_assume_role("arn:aws:iam::1:role/r", "s", NULL, 0, &b), 0);
    assert_string_equal(b.ptr, "Action=AssumeRole&Version=2011-06-15"
                               "&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s");
    assert_int_equal(creds_form_web_identity("arn:aws:iam::1:role/r", "s3w",
                                             S3W_SLICE_LIT("eyJ.a-b_c~d+e=\n"), 0, &b), 0);
    assert_string_equal(b.ptr, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                               "&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s3w"
                               "&WebIdentityToken=eyJ.a-b_c~d%2Be%3D");
    s3w_buf_cleanup(&b);

    char url[256], auth[256];
    struct creds_error e;
    static const char *const rel[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/abc",
                                       NULL };
    struct envtab t = { rel };
    assert_int_equal(creds_ecs_endpoint(tab_get, &t, NULL, url, sizeof url, auth, sizeof auth, &e),
                     CREDS_OK);
    assert_string_equal(url, "http://169.254.170.2/v2/creds/abc");
    assert_string_equal(auth, "");
    static const char *const full[] = { "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                        "http://127.0.0.1:9912/creds",
                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer x", NULL };
    t.kv = full;
    assert_int_equal(creds_ecs_endpoint(tab_get, &t, NULL, url, sizeof url, auth, sizeof auth, &e),
                     CREDS_OK);
    assert_string_equal(url, "http://127.0.0.1:9912/creds");
    assert_string_equal(auth, "Bearer x");
    /* the config's endpoint wins */
    assert_int_equal(creds_ecs_endpoint(tab_get, &t, "http://127.0.0.1:1/c", url, sizeof url,
                                        auth, sizeof auth, &e),
                     CREDS_OK);
    assert_string_equal(url, "http://127.0.0.1:1/c");
    static const char *const none[] = { NULL };
    t.kv = none;
    assert_int_equal(creds_ecs_endpoint(tab_get, &t, NULL, url, sizeof url, auth, sizeof auth, &e),
                     CREDS_E_ABSENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_metadata_json),
        cmocka_unit_test(test_sts_xml),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
