/* fs9p/wire.c — 9P2000.L frames to and from struct p9_msg, driven by one
 * table of field layouts (see wire.h for the codes and the promises). */
#include "fs9p/wire.h"

#include <errno.h>
#include <string.h>

/* Field layouts after the 7-byte header, from the 9P2000.L definition
 * (Linux include/net/9p/9p.h, diod's protocol.md). */
static const char *const layouts[256] = {
    [P9_RLERROR] = "d",
    [P9_TSTATFS] = "d",          [P9_RSTATFS] = "ddqqqqqqd",
    [P9_TLOPEN] = "dd",          [P9_RLOPEN] = "Qd",
    [P9_TLCREATE] = "dsddd",     [P9_RLCREATE] = "Qd",
    [P9_TSYMLINK] = "dssd",      [P9_RSYMLINK] = "Q",
    [P9_TMKNOD] = "dsdddd",      [P9_RMKNOD] = "Q",
    [P9_TRENAME] = "dds",        [P9_RRENAME] = "",
    [P9_TREADLINK] = "d",        [P9_RREADLINK] = "s",
    [P9_TGETATTR] = "dq",        [P9_RGETATTR] = "qQdddqqqqqqqqqqqqqqq",
    [P9_TSETATTR] = "dddddqqqqq", [P9_RSETATTR] = "",
    [P9_TXATTRWALK] = "dds",     [P9_RXATTRWALK] = "q",
    [P9_TXATTRCREATE] = "dsqd",  [P9_RXATTRCREATE] = "",
    [P9_TREADDIR] = "dqd",       [P9_RREADDIR] = "D",
    [P9_TFSYNC] = "dd",          [P9_RFSYNC] = "",
    [P9_TLOCK] = "dbdqqds",      [P9_RLOCK] = "b",
    [P9_TGETLOCK] = "dbqqds",    [P9_RGETLOCK] = "bqqds",
    [P9_TLINK] = "dds",          [P9_RLINK] = "",
    [P9_TMKDIR] = "dsdd",        [P9_RMKDIR] = "Q",
    [P9_TRENAMEAT] = "dsds",     [P9_RRENAMEAT] = "",
    [P9_TUNLINKAT] = "dsd",      [P9_RUNLINKAT] = "",
    [P9_TVERSION] = "ds",        [P9_RVERSION] = "ds",
    [P9_TAUTH] = "dssd",         [P9_RAUTH] = "Q",
    [P9_TATTACH] = "ddssd",      [P9_RATTACH] = "Q",
    [P9_TFLUSH] = "w",           [P9_RFLUSH] = "",
    [P9_TWALK] = "ddN",          [P9_RWALK] = "R",
    [P9_TREAD] = "dqd",          [P9_RREAD] = "D",
    [P9_TWRITE] = "dqD",         [P9_RWRITE] = "d",
    [P9_TCLUNK] = "d",           [P9_RCLUNK] = "",
    [P9_TREMOVE] = "d",          [P9_RREMOVE] = "",
};

const char *p9_layout(uint8_t type)
{
    return layouts[type];
}

/* ---- decoding: a cursor that refuses to run past the end ---- */

struct reader {
    const uint8_t *p;
    const uint8_t *end;
};

static const uint8_t *take(struct reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return NULL;
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

static int read_uint(struct reader *r, size_t width, uint64_t *out)
{
    const uint8_t *p = take(r, width);
    if (!p)
        return EPROTO;
    uint64_t v = 0;
    for (size_t i = width; i-- > 0;)
        v = v << 8 | p[i];
    *out = v;
    return 0;
}

static int read_bytes(struct reader *r, size_t width, struct p9_bytes *out)
{
    uint64_t len;
    if (read_uint(r, width, &len))
        return EPROTO;
    const uint8_t *p = take(r, (size_t)len);
    if (!p)
        return EPROTO;
    out->ptr = p;
    out->len = (uint32_t)len;
    return 0;
}

static int read_qid(struct reader *r, struct p9_qid *q)
{
    const uint8_t *p = take(r, 13);
    if (!p)
        return EPROTO;
    q->type = p[0];
    q->version = p9_get_u32(p + 1);
    q->path = p9_get_u64(p + 5);
    return 0;
}

static int read_count(struct reader *r, uint16_t *count)
{
    uint64_t n;
    if (read_uint(r, 2, &n))
        return EPROTO;
    if (n > P9_MAX_WELEM)
        return EINVAL;
    *count = (uint16_t)n;
    return 0;
}

static int read_names(struct reader *r, struct p9_msg *m)
{
    int err = read_count(r, &m->count);
    for (unsigned i = 0; !err && i < m->count; i++)
        err = read_bytes(r, 2, &m->names[i]);
    return err;
}

static int read_qids(struct reader *r, struct p9_msg *m)
{
    int err = read_count(r, &m->count);
    for (unsigned i = 0; !err && i < m->count; i++)
        err = read_qid(r, &m->qids[i]);
    return err;
}

static int read_field(struct reader *r, char code, struct p9_value *v, struct p9_msg *m)
{
    switch (code) {
    case 'b': return read_uint(r, 1, &v->num);
    case 'w': return read_uint(r, 2, &v->num);
    case 'd': return read_uint(r, 4, &v->num);
    case 'q': return read_uint(r, 8, &v->num);
    case 's': return read_bytes(r, 2, &v->str);
    case 'D': return read_bytes(r, 4, &v->str);
    case 'Q': return read_qid(r, &v->qid);
    case 'N': return read_names(r, m);
    case 'R': return read_qids(r, m);
    default: return EPROTO;
    }
}

int p9_decode(const uint8_t *frame, size_t len, struct p9_msg *m)
{
    memset(m, 0, sizeof *m);
    m->tag = P9_NOTAG;
    if (len < P9_HEADER_SIZE)
        return EPROTO;
    m->type = frame[4];
    m->tag = p9_get_u16(frame + 5);
    uint32_t size = p9_get_u32(frame);
    if (size < P9_HEADER_SIZE || size > len)
        return EPROTO;
    const char *layout = layouts[m->type];
    if (!layout)
        return EOPNOTSUPP;
    struct reader r = { frame + P9_HEADER_SIZE, frame + size };
    for (unsigned i = 0; layout[i]; i++) {
        int err = read_field(&r, layout[i], &m->f[i], m);
        if (err)
            return err;
    }
    return r.p == r.end ? 0 : EPROTO;
}

/* ---- encoding: a cursor that stops at the capacity ---- */

struct writer {
    uint8_t *p;
    uint8_t *end;
    int overflow;
};

static uint8_t *give(struct writer *w, size_t n)
{
    if (w->overflow || (size_t)(w->end - w->p) < n) {
        w->overflow = 1;
        return NULL;
    }
    uint8_t *at = w->p;
    w->p += n;
    return at;
}

static void write_uint(struct writer *w, size_t width, uint64_t v)
{
    uint8_t *p = give(w, width);
    for (size_t i = 0; p && i < width; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void write_bytes(struct writer *w, size_t width, const struct p9_bytes *b)
{
    uint64_t max = width == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    if (b->len > max) {
        w->overflow = 1;
        return;
    }
    write_uint(w, width, b->len);
    uint8_t *p = give(w, b->len);
    if (p && b->len)
        memmove(p, b->ptr, b->len);   /* data may already sit in place */
}

static void write_qid(struct writer *w, const struct p9_qid *q)
{
    write_uint(w, 1, q->type);
    write_uint(w, 4, q->version);
    write_uint(w, 8, q->path);
}

static void write_field(struct writer *w, char code, const struct p9_value *v,
                        const struct p9_msg *m)
{
    unsigned n = m->count > P9_MAX_WELEM ? P9_MAX_WELEM : m->count;
    switch (code) {
    case 'b': write_uint(w, 1, v->num); break;
    case 'w': write_uint(w, 2, v->num); break;
    case 'd': write_uint(w, 4, v->num); break;
    case 'q': write_uint(w, 8, v->num); break;
    case 's': write_bytes(w, 2, &v->str); break;
    case 'D': write_bytes(w, 4, &v->str); break;
    case 'Q': write_qid(w, &v->qid); break;
    case 'N':
        write_uint(w, 2, n);
        for (unsigned i = 0; i < n; i++)
            write_bytes(w, 2, &m->names[i]);
        break;
    case 'R':
        write_uint(w, 2, n);
        for (unsigned i = 0; i < n; i++)
            write_qid(w, &m->qids[i]);
        break;
    default: w->overflow = 1; break;
    }
}

size_t p9_encode(const struct p9_msg *m, uint8_t *buf, size_t cap)
{
    const char *layout = layouts[m->type];
    if (!layout)
        return 0;
    struct writer w = { buf, buf + cap, 0 };
    write_uint(&w, 4, 0);
    write_uint(&w, 1, m->type);
    write_uint(&w, 2, m->tag);
    for (unsigned i = 0; layout[i]; i++)
        write_field(&w, layout[i], &m->f[i], m);
    if (w.overflow)
        return 0;
    size_t len = (size_t)(w.p - buf);
    if (len > 0xFFFFFFFFu)
        return 0;
    p9_put_u32(buf, (uint32_t)len);
    return len;
}

size_t p9_encode_lerror(uint16_t tag, uint32_t ecode, uint8_t *buf, size_t cap)
{
    struct p9_msg m = { .type = P9_RLERROR, .tag = tag };
    m.f[0].num = ecode;
    return p9_encode(&m, buf, cap);
}

int p9_put_dirent(uint8_t *buf, size_t cap, size_t *pos, const struct p9_qid *qid,
                  uint64_t offset, uint8_t type, const char *name, size_t namelen)
{
    if (namelen > 0xFFFF || *pos > cap || cap - *pos < p9_dirent_size(namelen))
        return -1;
    struct writer w = { buf + *pos, buf + cap, 0 };
    struct p9_bytes b = { (const uint8_t *)name, (uint32_t)namelen };
    write_qid(&w, qid);
    write_uint(&w, 8, offset);
    write_uint(&w, 1, type);
    write_bytes(&w, 2, &b);
    *pos = (size_t)(w.p - buf);
    return 0;
}
