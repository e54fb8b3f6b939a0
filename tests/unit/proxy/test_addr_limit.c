/* test_addr_limit.c - connections per source address (addr_limit.h): the
 * cap per address, which addresses count together (an IPv6 /64, an
 * IPv4-mapped address as IPv4), giving back, and the table against a
 * plain array of counts over many addresses taken and given back in a
 * random order (entries removed from the middle of probe runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "addr_limit.h"

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* address number a of test_against_counts */
static struct sockaddr_storage nth(int a)
{
    char s[32];
    snprintf(s, sizeof s, "10.%d.%d.1", a / 256, a % 256);
    return v4(s);
}

static void test_cap_per_address(void **state)
{
    (void)state;
    struct addr_limit *l = addr_limit_new(100, 2);
    assert_non_null(l);
    struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
    struct addr_key ka1, ka2, ka3, kb;
    assert_true(addr_limit_take(l, SA(a), &ka1));
    assert_true(addr_limit_take(l, SA(a), &ka2));
    assert_false(addr_limit_take(l, SA(a), &ka3)); /* a holds 2 */
    assert_true(addr_limit_take(l, SA(b), &kb));   /* b is another */
    assert_int_equal(addr_limit_held(l, SA(a)), 2);
    addr_limit_give(l, &ka1);
    assert_int_equal(addr_limit_held(l, SA(a)), 1);
    assert_true(addr_limit_take(l, SA(a), &ka3));
    addr_limit_give(l, &ka2);
    addr_limit_give(l, &ka3);
    addr_limit_give(l, &kb);
    assert_int_equal(addr_limit_held(l, SA(a)), 0);
    assert_int_equal(addr_limit_held(l, SA(b)), 0);
    addr_limit_free(l);
}

static void test_which_addresses_count_together(void **state)
{
    (void)state;
    struct addr_limit *l = addr_limit_new(100, 1);
    assert_non_null(l);
    struct addr_key k1, k2, k3, k4;
    /* one /64: two hosts of it are one address here */
    struct sockaddr_storage h1 = v6("2001:db8:1:2::1"), h2 = v6("2001:db8:1:2:ffff::9");
    assert_true(addr_limit_take(l, SA(h1), &k1));
    assert_false(addr_limit_take(l, SA(h2), &k2));
    struct sockaddr_storage other64 = v6("2001:db8:1:3::1");
    assert_true(addr_limit_take(l, SA(other64), &k2));
    /* an IPv4-mapped address is its IPv4 address */
    struct sockaddr_storage v4a = v4("198.51.100.7"), mapped = v6("::ffff:198.51.100.7");
    assert_true(addr_limit_take(l, SA(v4a), &k3));
    assert_false(addr_limit_take(l, SA(mapped), &k4));
    assert_int_equal(addr_limit_held(l, SA(mapped)), 1);
    /* a family not counted: let through, and giving it back does nothing */
    struct sockaddr_storage unix_ss = { .ss_family = AF_UNIX };
    assert_true(addr_limit_take(l, SA(unix_ss), &k4));
    addr_limit_give(l, &k4);
    addr_limit_give(l, &k1);
    addr_limit_give(l, &k2);
    addr_limit_give(l, &k3);
    assert_int_equal(addr_limit_held(l, SA(h2)), 0);
    addr_limit_free(l);
}

/* Up to 2,500 connections from 500 addresses, taken and given back in a
 * random order, 30,000 steps, in a table sized for 400 connections (1,024
 * slots, at most 512 addresses: up to half full, long probe runs): every
 * count as a plain array says, every refusal where the array is at the
 * cap, nothing held at the end. */
static void test_against_counts(void **state)
{
    (void)state;
    enum { ADDRS = 500, CONNS = ADDRS * 5, MAX = 5 };
    struct addr_limit *l = addr_limit_new(400, MAX);
    assert_non_null(l);
    static uint32_t want[ADDRS];
    static struct { int addr; struct addr_key k; } held[CONNS];
    int nheld = 0;
    srand(12345);
    for (int step = 0; step < 30000; step++) {
        if (nheld < CONNS && (nheld == 0 || rand() % 3 != 0)) {
            int a = rand() % ADDRS;
            struct sockaddr_storage ss = nth(a);
            struct addr_key k;
            bool ok = addr_limit_take(l, SA(ss), &k);
            assert_int_equal(ok, want[a] < MAX);
            if (ok) {
                want[a]++;
                held[nheld].addr = a;
                held[nheld++].k = k;
            }
        } else {
            int i = rand() % nheld;
            addr_limit_give(l, &held[i].k);
            want[held[i].addr]--;
            held[i] = held[--nheld];
        }
        if (step % 1000 == 0) {
            for (int a = 0; a < ADDRS; a++) {
                struct sockaddr_storage ss = nth(a);
                assert_int_equal(addr_limit_held(l, SA(ss)), want[a]);
            }
        }
    }
    while (nheld > 0) {
        addr_limit_give(l, &held[nheld - 1].k);
        want[held[--nheld].addr]--;
    }
    for (int a = 0; a < ADDRS; a++) {
        struct sockaddr_storage ss = nth(a);
        assert_int_equal(addr_limit_held(l, SA(ss)), 0);
    }
    addr_limit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_per_address),
        cmocka_unit_test(test_which_addresses_count_together),
        cmocka_unit_test(test_against_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
