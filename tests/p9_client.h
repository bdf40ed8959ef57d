/* tests/p9_client.h — a 9P2000.L client for the fs9p tests.
 *
 * Promises: requests built from the codec's own layout table, sent through
 * p9_server_handle (synchronously) and their replies decoded, with Check
 * assertions on everything a well-behaved server must get right (tags,
 * reply types). By default the server runs on a fresh `mem` back end with a
 * fixed clock; client_new_on takes any back end.
 */
#ifndef PLAN86_TESTS_P9_CLIENT_H
#define PLAN86_TESTS_P9_CLIENT_H

#include <check.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"
#include "fs9p/server.h"
#include "fs9p/wire.h"

#define U(x) ((uint64_t)(x))
#define REPLY_CAP (P9_DEFAULT_MAX_MSIZE)
#define OK(expr) ck_assert_int_eq((expr), 0)

struct client {
    struct p9_server *srv;
    struct p9_backend *mem;          /* the back end, for the path helpers */
    struct p9_backend mem_copy;
    uint8_t req[REPLY_CAP];
    uint8_t reply[REPLY_CAP];
    size_t reply_len;
    struct p9_msg r;
    uint16_t tag;
};

/* 2023-11-14 22:13:20.123456789 UTC, for file times that tests can compare. */
uint64_t fixed_clock(void *ctx);
struct client *client_new_capped(uint32_t max_msize);
struct client *client_new(void);
/* A server on back end b (the server owns it from now on). */
struct client *client_new_on(const struct p9_backend *b);
void client_free(struct client *c);

/* Builds a request from varargs in layout order: numbers as uint64_t (use
 * U()), strings as const char *, data as (const void *, uint32_t), Twalk
 * names as one "a/b" path. */
size_t build(uint8_t *buf, size_t cap, uint8_t type, uint16_t tag, va_list ap);
/* Sends one request; returns 0 for the expected R message (decoded in
 * c->r) or the Rlerror code. */
int call(struct client *c, uint8_t type, ...);
/* Sends one request through p9_server_submit with tag = token: the reply
 * goes to the server's completion callback, now or when a parked request
 * is woken. */
void submit(struct client *c, uint64_t token, uint8_t type, ...);

/* Tversion + Tattach of `fid` as `uid` on `aname`. */
void session(struct client *c, uint32_t fid, uint32_t uid, const char *aname);
void write_all(struct client *c, uint32_t fid, uint64_t off, const char *s);
void expect_read(struct client *c, uint32_t fid, uint64_t off, uint32_t count,
                 const void *want, uint32_t want_len);
struct p9_attr getattr(struct client *c, uint32_t fid);
/* Reads a whole directory with Treaddir of `count` bytes a time, calling
 * between(i) after each batch; collects names separated by ' '. */
void list_dir(struct client *c, uint32_t fid, uint32_t count, char *out, size_t cap,
              void (*between)(struct client *, int), int *entries);

#endif
