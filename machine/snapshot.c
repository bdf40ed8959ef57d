/* snapshot.c — see snapshot.h. */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

void snap_writer_init(struct snap_writer *w) { memset(w, 0, sizeof *w); }

void snap_writer_free(struct snap_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void snap_put_bytes(struct snap_writer *w, const void *p, size_t n)
{
    if (w->failed) return;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->failed = true;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_le(struct snap_writer *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int k = 0; k < bytes; k++) b[k] = (uint8_t)(v >> (8 * k));
    snap_put_bytes(w, b, (size_t)bytes);
}

void snap_put_u8(struct snap_writer *w, uint8_t v) { put_le(w, v, 1); }
void snap_put_u16(struct snap_writer *w, uint16_t v) { put_le(w, v, 2); }
void snap_put_u32(struct snap_writer *w, uint32_t v) { put_le(w, v, 4); }
void snap_put_u64(struct snap_writer *w, uint64_t v) { put_le(w, v, 8); }

void snap_reader_init(struct snap_reader *r, const void *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->error = NULL;
}

void snap_fail(struct snap_reader *r, const char *why)
{
    if (!r->error) r->error = why;
}

void snap_get_bytes(struct snap_reader *r, void *p, size_t n)
{
    if (r->error || r->len - r->pos < n) {
        snap_fail(r, "state truncated");
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->buf + r->pos, n);
    r->pos += n;
}

static uint64_t get_le(struct snap_reader *r, int bytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    snap_get_bytes(r, b, (size_t)bytes);
    for (int k = 0; k < bytes; k++) v |= (uint64_t)b[k] << (8 * k);
    return v;
}

uint8_t snap_get_u8(struct snap_reader *r) { return (uint8_t)get_le(r, 1); }
uint16_t snap_get_u16(struct snap_reader *r) { return (uint16_t)get_le(r, 2); }
uint32_t snap_get_u32(struct snap_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t snap_get_u64(struct snap_reader *r) { return get_le(r, 8); }

bool snap_get_bool(struct snap_reader *r)
{
    uint8_t v = snap_get_u8(r);
    if (v > 1) snap_fail(r, "state has a bad boolean");
    return v == 1;
}
