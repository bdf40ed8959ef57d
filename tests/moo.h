/* moo.h — reader for SingleStepTests MOO 1.x files (gzip-compressed).
 *
 * Promises: moo_open() loads a whole .MOO.gz file into memory and checks its
 * header; moo_next() walks the TEST chunks one at a time. Every chunk length is
 * checked against the bytes that remain, so a truncated or corrupt file ends
 * with -1 and a one-line reason in moo_file.err, never with an out-of-bounds
 * read. Parsed tests point into the file's buffer: they stay valid until
 * moo_close().
 */
#ifndef PLAN86_TESTS_MOO_H
#define PLAN86_TESTS_MOO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register order of a REGS chunk's bitmask (bit n = register n). */
enum moo_reg {
    MOO_AX, MOO_BX, MOO_CX, MOO_DX, MOO_CS, MOO_SS, MOO_DS, MOO_ES,
    MOO_SP, MOO_BP, MOO_SI, MOO_DI, MOO_IP, MOO_FLAGS, MOO_REG_COUNT
};

extern const char *const moo_reg_names[MOO_REG_COUNT];

/* One INIT or FINA state. */
struct moo_state {
    uint16_t reg_mask;               /* bit n set: regs[n] is given */
    uint16_t regs[MOO_REG_COUNT];
    uint32_t ram_count;
    const uint8_t *ram;              /* ram_count records of (u32 address, u8 value) */
};

struct moo_test {
    uint32_t index;
    const char *name;                /* disassembly, not NUL-terminated */
    uint32_t name_len;
    const uint8_t *bytes;            /* instruction bytes (the trailing HLT included) */
    uint32_t byte_count;
    struct moo_state init, fina;
    bool has_exception;
    uint8_t exception;               /* vector */
    uint32_t exception_flags_addr;   /* where the pushed FLAGS word sits */
    bool has_hash;
    uint8_t hash[20];
};

struct moo_file {
    uint8_t *data;
    size_t size;
    size_t pos;                      /* next top-level chunk */
    uint32_t test_count;             /* as the header declares */
    uint8_t major, minor;
    char cpu[5];
    char err[200];
};

/* Returns 0, or -1 with f->err set (f needs no moo_close then). */
int moo_open(struct moo_file *f, const char *path);
/* 1: *t holds the next test; 0: no more tests; -1: corrupt (f->err says why). */
int moo_next(struct moo_file *f, struct moo_test *t);
void moo_close(struct moo_file *f);

/* RAM record n of a state (n < s->ram_count). */
static inline void moo_ram_entry(const struct moo_state *s, uint32_t n, uint32_t *addr, uint8_t *value)
{
    const uint8_t *p = s->ram + (size_t)n * 5;
    *addr = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    *value = p[4];
}

#endif
