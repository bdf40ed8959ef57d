/* tests/p9_client.c — the fs9p tests' 9P2000.L client (see p9_client.h). */
#include "p9_client.h"

#include <stdlib.h>
#include <string.h>

#include "fs9p/backend_mem.h"

uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1700000000ull * 1000000000ull + 123456789u;
}

static struct client *client_on(const struct p9_backend *b, uint32_t max_msize)
{
    struct client *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->mem_copy = *b;
    c->mem = &c->mem_copy;
    struct p9_server_config sc = { .backend = c->mem_copy, .max_msize = max_msize };
    c->srv = p9_server_new(&sc);
    ck_assert_ptr_nonnull(c->srv);
    return c;
}

struct client *client_new_capped(uint32_t max_msize)
{
    struct p9_mem_config mc = { .clock = fixed_clock };
    struct p9_backend b;
    ck_assert_int_eq(p9_mem_new(&mc, &b), 0);
    return client_on(&b, max_msize);
}

struct client *client_new_on(const struct p9_backend *b)
{
    return client_on(b, 0);
}

struct client *client_new(void)
{
    return client_new_capped(0);
}

void client_free(struct client *c)
{
    p9_server_free(c->srv);
    free(c);
}

/* Splits "a/b/c" into Twalk names (pointing into path). */
static void set_walk_names(struct p9_msg *m, const char *path)
{
    m->count = 0;
    while (*path && m->count < P9_MAX_WELEM) {
        size_t len = strcspn(path, "/");
        m->names[m->count++] = (struct p9_bytes){ (const uint8_t *)path, (uint32_t)len };
        path += len + (path[len] == '/');
    }
}

/* Builds a request from varargs in layout order: numbers as uint64_t (use
 * U()), strings as const char *, data as (const void *, uint32_t), Twalk
 * names as one "a/b" path. */
size_t build(uint8_t *buf, size_t cap, uint8_t type, uint16_t tag, va_list ap)
{
    struct p9_msg m = { .type = type, .tag = tag };
    const char *layout = p9_layout(type);
    ck_assert_ptr_nonnull(layout);
    for (unsigned i = 0; layout[i]; i++) {
        const char *s;
        switch (layout[i]) {
        case 's':
            s = va_arg(ap, const char *);
            m.f[i].str = (struct p9_bytes){ (const uint8_t *)s, (uint32_t)strlen(s) };
            break;
        case 'D':
            m.f[i].str.ptr = va_arg(ap, const void *);
            m.f[i].str.len = va_arg(ap, uint32_t);
            break;
        case 'N':
            set_walk_names(&m, va_arg(ap, const char *));
            break;
        default:
            m.f[i].num = va_arg(ap, uint64_t);
            break;
        }
    }
    size_t n = p9_encode(&m, buf, cap);
    ck_assert_uint_gt(n, 0);
    return n;
}

/* Sends one request; returns 0 for the expected R message (decoded in
 * c->r) or the Rlerror code. */
int call(struct client *c, uint8_t type, ...)
{
    va_list ap;
    va_start(ap, type);
    uint16_t tag = ++c->tag;
    size_t n = build(c->req, sizeof c->req, type, tag, ap);
    va_end(ap);
    c->reply_len = p9_server_handle(c->srv, c->req, n, c->reply, sizeof c->reply);
    ck_assert_uint_ge(c->reply_len, P9_HEADER_SIZE);
    ck_assert_int_eq(p9_decode(c->reply, c->reply_len, &c->r), 0);
    ck_assert_uint_eq(c->r.tag, tag);
    if (c->r.type == P9_RLERROR)
        return (int)c->r.f[0].num;
    ck_assert_uint_eq(c->r.type, type + 1);
    return 0;
}

void session(struct client *c, uint32_t fid, uint32_t uid, const char *aname)
{
    OK(call(c, P9_TVERSION, U(65536), "9P2000.L"));
    OK(call(c, P9_TATTACH, U(fid), U(P9_NOFID), "user", aname, U(uid)));
}

void write_all(struct client *c, uint32_t fid, uint64_t off, const char *s)
{
    OK(call(c, P9_TWRITE, U(fid), U(off), s, (uint32_t)strlen(s)));
    ck_assert_uint_eq(c->r.f[0].num, strlen(s));
}

void expect_read(struct client *c, uint32_t fid, uint64_t off, uint32_t count,
                        const void *want, uint32_t want_len)
{
    OK(call(c, P9_TREAD, U(fid), U(off), U(count)));
    ck_assert_uint_eq(c->r.f[0].str.len, want_len);
    ck_assert_mem_eq(c->r.f[0].str.ptr, want, want_len);
}

struct p9_attr getattr(struct client *c, uint32_t fid)
{
    OK(call(c, P9_TGETATTR, U(fid), U(0x3FFF)));
    const struct p9_value *v = c->r.f;
    return (struct p9_attr){
        .mode = (uint32_t)v[2].num, .uid = (uint32_t)v[3].num, .gid = (uint32_t)v[4].num,
        .nlink = v[5].num, .rdev = v[6].num, .size = v[7].num, .blocks = v[9].num,
        .atime = { v[10].num, v[11].num }, .mtime = { v[12].num, v[13].num },
        .ino = v[1].qid.path,
    };
}

/* Reads a whole directory with Treaddir of `count` bytes a time, calling
 * between(i) after each batch; collects names separated by ' '. */
void list_dir(struct client *c, uint32_t fid, uint32_t count, char *out, size_t cap,
                     void (*between)(struct client *, int), int *entries)
{
    uint64_t offset = 0;
    size_t used = 0;
    *entries = 0;
    out[0] = 0;
    for (int batch = 0;; batch++) {
        OK(call(c, P9_TREADDIR, U(fid), U(offset), U(count)));
        const uint8_t *p = c->r.f[0].str.ptr, *end = p + c->r.f[0].str.len;
        if (p == end)
            return;
        while (p < end) {
            offset = p9_get_u64(p + 13);
            uint16_t len = p9_get_u16(p + 22);
            ck_assert_uint_lt(used + len + 1, cap);
            memcpy(out + used, p + 24, len);
            used += len;
            out[used++] = ' ';
            out[used] = 0;
            (*entries)++;
            p += 24 + len;
        }
        if (between)
            between(c, batch);
    }
}


void submit(struct client *c, uint64_t token, uint8_t type, ...)
{
    va_list ap;
    va_start(ap, type);
    size_t n = build(c->req, sizeof c->req, type, (uint16_t)token, ap);
    va_end(ap);
    p9_server_submit(c->srv, c->req, n, REPLY_CAP, token);
}
