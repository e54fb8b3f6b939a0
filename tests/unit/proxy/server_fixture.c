/* server_fixture.c - see server_fixture.h. */
#include "server_fixture.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int fx_server_start(struct proxy_server *srv, const struct proxy_handler *h, int workers,
                    int header_timeout_ms, int idle_timeout_ms)
{
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    s.port = 0;
    s.workers = workers;
    s.header_timeout_ms = header_timeout_ms;
    s.idle_timeout_ms = idle_timeout_ms;
    memset(srv, 0, sizeof(*srv));
    if (proxy_server_init(srv, &s, h, NULL) != 0 || proxy_server_start(srv) != 0)
        return -1;
    return srv->bound_port;
}

void fx_server_stop(struct proxy_server *srv)
{
    proxy_server_stop(srv, 1000);
    proxy_server_wait(srv);
    proxy_server_cleanup(srv);
}

int fx_cert_make(struct fx_cert *c, const char *dir_template)
{
    snprintf(c->dir, sizeof c->dir, "%s", dir_template);
    if (!mkdtemp(c->dir))
        return -1;
    snprintf(c->cert, sizeof c->cert, "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof c->key, "%s/key.pem", c->dir);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int ok = key && x;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        X509_NAME *nm = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                   -1, -1, 0);
        X509_set_issuer_name(x, nm);
        ok = X509_sign(x, key, EVP_sha256()) > 0;
    }
    FILE *cf = ok ? fopen(c->cert, "w") : NULL, *kf = ok ? fopen(c->key, "w") : NULL;
    ok = ok && cf && kf && PEM_write_X509(cf, x) &&
         PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL);
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

void fx_cert_remove(const struct fx_cert *c)
{
    unlink(c->cert);
    unlink(c->key);
    rmdir(c->dir);
}
