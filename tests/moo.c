/* moo.c — MOO 1.x reader: gzip in through zlib, then a bounds-checked chunk walk.
 *
 * Promises (see moo.h): no read ever goes past the bytes a chunk declares and
 * the file holds; anything malformed becomes a one-line message.
 */
#include "moo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MOO_MAX_FILE_BYTES (512u << 20) /* decompressed; a bigger file is refused */
#define MOO_ALL_REGS ((1u << MOO_REG_COUNT) - 1)

const char *const moo_reg_names[MOO_REG_COUNT] = {
    "ax", "bx", "cx", "dx", "cs", "ss", "ds", "es",
    "sp", "bp", "si", "di", "ip", "flags",
};

/* A run of bytes still to be parsed. */
struct span {
    const uint8_t *p;
    size_t left;
};

struct chunk {
    char id[5];
    struct span body;
};

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static bool span_take(struct span *s, size_t n, const uint8_t **out)
{
    if (s->left < n) return false;
    *out = s->p;
    s->p += n;
    s->left -= n;
    return true;
}

static bool span_u32(struct span *s, uint32_t *v)
{
    const uint8_t *p;
    if (!span_take(s, 4, &p)) return false;
    *v = read_u32(p);
    return true;
}

static int set_error(struct moo_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(struct moo_file *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* 1: *c is the next chunk of s; 0: s is used up; -1: a header or length that
 * does not fit in what remains. */
static int next_chunk(struct span *s, struct chunk *c)
{
    const uint8_t *head;
    if (s->left == 0) return 0;
    if (!span_take(s, 8, &head)) return -1;
    memcpy(c->id, head, 4);
    c->id[4] = '\0';
    uint32_t len = read_u32(head + 4);
    c->body.p = s->p;
    c->body.left = len;
    return span_take(s, len, &head) ? 1 : -1;
}

/* A u32 length followed by that many bytes (NAME, BYTS). */
static bool parse_counted(struct span body, const uint8_t **data, uint32_t *len)
{
    return span_u32(&body, len) && span_take(&body, *len, data);
}

static int parse_regs(struct moo_file *f, struct span body, struct moo_state *st)
{
    const uint8_t *p;
    if (!span_take(&body, 2, &p)) return set_error(f, "REGS chunk shorter than its mask");
    uint16_t mask = read_u16(p);
    if (mask & ~MOO_ALL_REGS) return set_error(f, "REGS mask 0x%04x names unknown registers", mask);
    for (int r = 0; r < MOO_REG_COUNT; r++) {
        if (!(mask & (1u << r))) continue;
        if (!span_take(&body, 2, &p)) return set_error(f, "REGS chunk ends before register %s", moo_reg_names[r]);
        st->regs[r] = read_u16(p);
    }
    st->reg_mask = mask;
    return 0;
}

static int parse_ram(struct moo_file *f, struct span body, struct moo_state *st)
{
    uint32_t count;
    if (!span_u32(&body, &count)) return set_error(f, "RAM chunk shorter than its count");
    if ((uint64_t)count * 5 > body.left)
        return set_error(f, "RAM chunk declares %u entries but holds %zu bytes", count, body.left);
    st->ram_count = count;
    st->ram = body.p;
    return 0;
}

/* INIT / FINA: REGS and RAM sub-chunks; others (QUEU, RMSK) are skipped. */
static int parse_state(struct moo_file *f, struct span body, struct moo_state *st)
{
    struct chunk c;
    int got;
    memset(st, 0, sizeof *st);
    while ((got = next_chunk(&body, &c)) == 1) {
        int rc = 0;
        if (!strcmp(c.id, "REGS")) rc = parse_regs(f, c.body, st);
        else if (!strcmp(c.id, "RAM ")) rc = parse_ram(f, c.body, st);
        if (rc) return rc;
    }
    return got < 0 ? set_error(f, "state chunk with a sub-chunk longer than itself") : 0;
}

static int parse_exception(struct moo_file *f, struct span body, struct moo_test *t)
{
    const uint8_t *p;
    if (!span_take(&body, 5, &p)) return set_error(f, "EXCP chunk shorter than 5 bytes");
    t->has_exception = true;
    t->exception = p[0];
    t->exception_flags_addr = read_u32(p + 1);
    return 0;
}

static int parse_hash(struct moo_file *f, struct span body, struct moo_test *t)
{
    const uint8_t *p;
    if (!span_take(&body, sizeof t->hash, &p)) return set_error(f, "HASH chunk shorter than 20 bytes");
    memcpy(t->hash, p, sizeof t->hash);
    t->has_hash = true;
    return 0;
}

/* One TEST sub-chunk into *t; `seen` collects which of NAME/BYTS/INIT/FINA came. */
enum { SEEN_BYTS = 1, SEEN_INIT = 2, SEEN_FINA = 4 };
static int parse_test_part(struct moo_file *f, const struct chunk *c, struct moo_test *t, unsigned *seen)
{
    const uint8_t *data;
    if (!strcmp(c->id, "NAME")) {
        if (!parse_counted(c->body, &data, &t->name_len)) return set_error(f, "NAME chunk longer than itself");
        t->name = (const char *)data;
        return 0;
    }
    if (!strcmp(c->id, "BYTS")) {
        if (!parse_counted(c->body, &t->bytes, &t->byte_count)) return set_error(f, "BYTS chunk longer than itself");
        *seen |= SEEN_BYTS;
        return 0;
    }
    if (!strcmp(c->id, "INIT")) {
        *seen |= SEEN_INIT;
        return parse_state(f, c->body, &t->init);
    }
    if (!strcmp(c->id, "FINA")) {
        *seen |= SEEN_FINA;
        return parse_state(f, c->body, &t->fina);
    }
    if (!strcmp(c->id, "EXCP")) return parse_exception(f, c->body, t);
    if (!strcmp(c->id, "HASH")) return parse_hash(f, c->body, t);
    return 0; /* CYCL, GMET, QUEU, anything newer */
}

static int parse_test(struct moo_file *f, struct span body, struct moo_test *t)
{
    struct chunk c;
    unsigned seen = 0;
    int got;
    memset(t, 0, sizeof *t);
    t->name = "";
    if (!span_u32(&body, &t->index)) return set_error(f, "TEST chunk shorter than its index");
    while ((got = next_chunk(&body, &c)) == 1)
        if (parse_test_part(f, &c, t, &seen)) return -1;
    if (got < 0) return set_error(f, "test %u: a sub-chunk is longer than the test", t->index);
    if (seen != (SEEN_BYTS | SEEN_INIT | SEEN_FINA))
        return set_error(f, "test %u lacks its BYTS, INIT or FINA chunk", t->index);
    if (t->init.reg_mask != MOO_ALL_REGS)
        return set_error(f, "test %u: INIT does not give every register", t->index);
    return 0;
}

/* Reads the whole decompressed file into f->data. */
static int read_gz(struct moo_file *f, const char *path)
{
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return set_error(f, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1u << 20;
    f->data = malloc(cap);
    f->size = 0;
    int rc = f->data ? 0 : set_error(f, "%s: out of memory", path);
    while (!rc) {
        if (f->size == cap) {
            uint8_t *bigger = cap < MOO_MAX_FILE_BYTES ? realloc(f->data, cap * 2) : NULL;
            if (!bigger) { rc = set_error(f, "%s: larger than %u MiB decompressed", path, MOO_MAX_FILE_BYTES >> 20); break; }
            f->data = bigger;
            cap *= 2;
        }
        int n = gzread(gz, f->data + f->size, (unsigned)(cap - f->size));
        if (n < 0) {
            int zerr;
            rc = set_error(f, "%s", gzerror(gz, &zerr));
        } else if (n == 0) {
            break;
        } else {
            f->size += (size_t)n;
        }
    }
    if (!rc) {
        int zerr;
        const char *msg = gzerror(gz, &zerr);
        if (zerr != Z_OK && zerr != Z_STREAM_END) rc = set_error(f, "%s", msg);
    }
    gzclose(gz);
    if (rc) { free(f->data); f->data = NULL; }
    return rc;
}

static int parse_header(struct moo_file *f, const char *path)
{
    struct span all = { f->data, f->size };
    struct chunk c;
    const uint8_t *p;
    if (next_chunk(&all, &c) != 1 || strcmp(c.id, "MOO ") || !span_take(&c.body, 12, &p))
        return set_error(f, "%s: not a MOO file (no MOO header chunk)", path);
    f->major = p[0];
    f->minor = p[1];
    f->test_count = read_u32(p + 4);
    memcpy(f->cpu, p + 8, 4);
    f->cpu[4] = '\0';
    if (f->major != 1) return set_error(f, "%s: MOO version %u.%u, this reader knows 1.x", path, f->major, f->minor);
    f->pos = (size_t)(all.p - f->data);
    return 0;
}

int moo_open(struct moo_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (read_gz(f, path)) return -1;
    if (parse_header(f, path)) {
        moo_close(f);
        return -1;
    }
    return 0;
}

int moo_next(struct moo_file *f, struct moo_test *t)
{
    struct span rest = { f->data + f->pos, f->size - f->pos };
    struct chunk c;
    int got;
    while ((got = next_chunk(&rest, &c)) == 1) {
        f->pos = (size_t)(rest.p - f->data);
        if (!strcmp(c.id, "TEST")) return parse_test(f, c.body, t) ? -1 : 1;
    }
    if (got < 0) return set_error(f, "chunk at byte %zu runs past the end of the file", f->pos);
    return 0;
}

void moo_close(struct moo_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = f->pos = 0;
}
