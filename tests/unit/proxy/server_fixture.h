/*
 * server_fixture.h - what the socket-level proxy unit tests (test_http,
 * test_conn_bufs, test_tls) each set up the same way: a proxy_server on
 * 127.0.0.1 with a test handler, and a self-signed certificate for a TLS
 * listener. Both return -1 rather than assert, as cmocka group setups do.
 */
#ifndef S3W_TEST_SERVER_FIXTURE_H
#define S3W_TEST_SERVER_FIXTURE_H

#include "proxy.h"

/* Initialises and starts srv on 127.0.0.1, a free port, with handler h,
 * `workers` workers and the given header and idle timeouts (the other
 * settings at their defaults). Returns the bound port, or -1. */
int fx_server_start(struct proxy_server *srv, const struct proxy_handler *h, int workers,
                    int header_timeout_ms, int idle_timeout_ms);
/* Stops srv (1 s grace), waits for its threads and frees it. */
void fx_server_stop(struct proxy_server *srv);

/* A P-256 key and a self-signed certificate for CN=localhost, valid from a
 * minute ago for an hour, as PEM files in a new directory made from
 * `dir_template` (a mkdtemp template, "/tmp/...XXXXXX"). */
struct fx_cert {
    char dir[64];
    char cert[128]; /* dir/cert.pem */
    char key[128];  /* dir/key.pem */
};
int fx_cert_make(struct fx_cert *c, const char *dir_template);
/* Removes both files and the directory. */
void fx_cert_remove(const struct fx_cert *c);

#endif
