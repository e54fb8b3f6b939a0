/*
 * addr_limit.h - client connections per source address, across every
 * worker (limits.max_connections_per_address), so that one host cannot take
 * every connection slot with heads it never finishes (idle connections
 * already give way at max_connections: conn.c). An IPv4 address counts
 * alone; an IPv6 address by its /64 (one subscriber's usual allocation),
 * an IPv4-mapped one as the IPv4 address.
 *
 * An open-addressing table of (address, count) entries sized for every
 * connection the server may hold, under one mutex: taken once when a
 * connection is accepted and once when it is freed, never per request.
 * An entry goes when its count reaches 0, so the table holds only the
 * addresses connected now.
 */
#ifndef S3W_PROXY_ADDR_LIMIT_H
#define S3W_PROXY_ADDR_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

struct addr_limit;

/* What a connection counted against: its address as the table keys it. */
struct addr_key {
    uint8_t b[17]; /* family tag, then 4 (IPv4) or 8 (IPv6 /64) bytes */
};

/* A table for up to `conns` connections at once (max_connections and the
 * few closing past it), `max` each per address. NULL on allocation
 * failure. */
struct addr_limit *addr_limit_new(size_t conns, uint32_t max);
void addr_limit_free(struct addr_limit *l);

/* Counts one more connection from `sa` if its address holds fewer than
 * `max`: true, with *key what to give back to addr_limit_give(). false:
 * the address holds `max` already, or the table is full (nothing
 * counted; the caller refuses). An address family other than IPv4 and
 * IPv6 is not counted (true, key all zero: giving it back does nothing).
 * Any thread. */
bool addr_limit_take(struct addr_limit *l, const struct sockaddr *sa, struct addr_key *key);
void addr_limit_give(struct addr_limit *l, const struct addr_key *key);

/* The count held by the address of `sa` now (tests). */
uint32_t addr_limit_held(struct addr_limit *l, const struct sockaddr *sa);

#endif
