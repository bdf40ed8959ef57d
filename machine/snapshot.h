/* snapshot.h — the byte stream a device saves its state into and loads it from.
 *
 * Promises: little-endian, length-checked encoding of fixed-size fields, so
 * every device writes `xxx_save(dev, w)` / `xxx_load(dev, r)` beside its state
 * struct the same way. A reader never reads past its buffer: a short or bad
 * stream sets r->error (the first message wins) and yields zeros, so a load
 * function checks snap_ok(r) once at its end and validates ranges of what it
 * read (a state file is user input). The state-file container (sections,
 * versions, compression) is built on top of this in a later issue.
 */
#ifndef PLAN86_SNAPSHOT_H
#define PLAN86_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snap_writer {
    uint8_t *buf;
    size_t len, cap;
    bool failed;      /* out of memory */
};

struct snap_reader {
    const uint8_t *buf;
    size_t len, pos;
    const char *error;
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);
void snap_put_bytes(struct snap_writer *w, const void *p, size_t n);
void snap_put_u8(struct snap_writer *w, uint8_t v);
void snap_put_u16(struct snap_writer *w, uint16_t v);
void snap_put_u32(struct snap_writer *w, uint32_t v);
void snap_put_u64(struct snap_writer *w, uint64_t v);
static inline void snap_put_bool(struct snap_writer *w, bool v) { snap_put_u8(w, v ? 1 : 0); }

void snap_reader_init(struct snap_reader *r, const void *buf, size_t len);
void snap_get_bytes(struct snap_reader *r, void *p, size_t n);
uint8_t snap_get_u8(struct snap_reader *r);
uint16_t snap_get_u16(struct snap_reader *r);
uint32_t snap_get_u32(struct snap_reader *r);
uint64_t snap_get_u64(struct snap_reader *r);
bool snap_get_bool(struct snap_reader *r);
/* Marks the stream bad (e.g. a field out of range) unless already bad. */
void snap_fail(struct snap_reader *r, const char *why);
static inline bool snap_ok(const struct snap_reader *r) { return r->error == NULL; }

#endif
