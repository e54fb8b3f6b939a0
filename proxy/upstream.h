/*
 * upstream.h - a worker's connections toward the upstream stores: per
 * upstream (by name), one h1client pool (h1client.h) per origin (scheme,
 * host, port) the worker sends to - one for path-style addressing, one per
 * bucket host for virtual-hosted addressing - made on first use, with the
 * TLS context and limits of that upstream's section (ca_file, tls_verify,
 * timeouts, max_connections).
 */
#ifndef S3W_PROXY_UPSTREAM_H
#define S3W_PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"
#include "config.h"
#include "h1client.h"

struct proxy_worker;

struct upstream_state;
/* Sets up w->up for the config's upstream section; 0 or -1. nworkers
 * shares upstream.max_connections between the workers; ups is where each
 * upstream's slot for the pools' metrics is found (NULL: the pools count
 * nothing into the worker's metrics). */
int up_worker_init(struct proxy_worker *w, const struct config *cfg, int nworkers,
                   struct upstream_state *ups);
/* The connections a worker's pool toward one of u's origins may hold
 * (upstream.max_connections split over the workers, at most
 * max_connections_per_host). */
unsigned up_pool_size(const struct proxy_worker *w, const struct config_upstream *u);
/* Closes the pools (run the loop afterwards: busy connections close as
 * their requests end). */
void up_worker_cleanup(struct proxy_worker *w);
/* A new config snapshot: an upstream whose section differs in anything its
 * pools were made with, or that is gone, has its pools closed (requests on
 * their connections finish; requests still waiting for one fail); they are
 * made again on use. Other upstreams keep their connections. */
void up_worker_reconfigure(struct proxy_worker *w, const struct config *cfg);

/* The pool toward the origin of url ("scheme://authority/..." as
 * upstream_build made it) among upstream u's (made with u's settings on
 * first use). NULL when the origin cannot be used (an unsupported scheme,
 * no TLS context, no memory): *why says so. */
struct h1c_pool *up_pool(struct proxy_worker *w, const struct config_upstream *u,
                         struct s3w_slice url, const char **why);

/* The sums over the worker's pools (metrics, tests). */
void up_worker_stats(struct proxy_worker *w, struct h1c_stats *sum);

/* ---- small upstream error bodies -------------------------------------------
 * The audit record's errorCode and the credential refresh need the <Code> of
 * an upstream S3 error (<Error><Code>NoSuchKey</Code>...). The pipeline
 * allocates one of these only for an error status; the body streams to the
 * client while its first UP_ERRBODY_MAX bytes are copied here. A body that
 * did not fit whole is never parsed: big bodies are not buffered for this.
 * 16 KiB holds S3's largest credential errors (SignatureDoesNotMatch with
 * its StringToSign/CanonicalRequest and their byte dumps). */
#define UP_ERRBODY_MAX (16 * 1024)
#define UP_ERRCODE_MAX 64

struct up_errbody {
    char buf[UP_ERRBODY_MAX];
    size_t len;
    bool over; /* more bytes came than fit */
};

/* Appends response body bytes (any number; the excess only sets `over`). */
void up_errbody_add(struct up_errbody *e, const char *p, size_t n);

/* The first <Code> element of the body, NUL-terminated into out (cap >= 2),
 * when the whole body is held, the element is closed, and its text is a
 * plain S3 error code: 1..cap-1 bytes of [A-Za-z0-9._-] (nothing that
 * could break a log line). Returns false otherwise (out is then ""). */
bool up_errbody_code(const struct up_errbody *e, char *out, size_t cap);

/* True for the codes with which S3 refuses the proxy's own credentials on a
 * 403 - they may have been rotated or expired since they were fetched:
 * ExpiredToken, InvalidToken, InvalidAccessKeyId, SignatureDoesNotMatch
 * (S3 API reference, "Error responses"). */
bool up_code_is_credential_error(const char *code);

/* ---- is a 2xx answer its operation's? -----------------------------------------
 * A store that does not know a subresource answers another operation: moto
 * answers GET ?retention on a key with the object's bytes and GET
 * ?analytics on a bucket with its listing, to a caller allowed only the
 * narrow action. The relay holds such an answer's head and first bytes
 * until these say it is what the operation answers (s3ops.h,
 * s3map_op.answer): the first UP_ANSWER_HOLD bytes must say so. */
#define UP_ANSWER_HOLD 512

enum up_answer_verdict {
    UP_ANSWER_MORE,  /* not known from these bytes: more are needed */
    UP_ANSWER_OK,
    UP_ANSWER_WRONG,
};

/* An XML answer's first element, read from its first n bytes: a UTF-8
 * byte order mark, white space, the XML declaration and other processing
 * instructions and comments may come first. OK when the element's name
 * (without a namespace prefix) is one of roots (NULL-terminated); WRONG
 * when it is another, or anything else comes first; MORE when the bytes
 * end before the name does and complete is false (complete: no more will
 * come, and then MORE is WRONG). *seen: the name read, or empty (it points
 * into p). */
enum up_answer_verdict up_answer_xml(const char *p, size_t n, bool complete,
                                     const char *const *roots, struct s3w_slice *seen);
/* An event stream's first message (SelectObjectContent): its prelude (total
 * and header lengths, big-endian) and the CRC32 of those 8 bytes that
 * follows them must agree. */
enum up_answer_verdict up_answer_events(const char *p, size_t n, bool complete);
/* A Content-Type value that is application/x-bittorrent (GetObjectTorrent),
 * parameters aside. */
bool up_answer_torrent_type(struct s3w_slice content_type);
/* A torrent's body: bencoded, a dictionary ('d') first. */
enum up_answer_verdict up_answer_torrent(const char *p, size_t n, bool complete);

#endif
