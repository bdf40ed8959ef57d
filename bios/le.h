/* le.h — little-endian field access in byte buffers (firmware tables, boot
 * headers). Callers check bounds; these only pack and unpack. */
#ifndef PLAN86_BIOS_LE_H
#define PLAN86_BIOS_LE_H

#include <stdint.h>

static inline void le_put(uint8_t *p, uint64_t v, int bytes)
{
    for (int k = 0; k < bytes; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static inline uint64_t le_get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

static inline void le_put16(uint8_t *p, uint16_t v) { le_put(p, v, 2); }
static inline void le_put32(uint8_t *p, uint32_t v) { le_put(p, v, 4); }
static inline void le_put64(uint8_t *p, uint64_t v) { le_put(p, v, 8); }
static inline uint16_t le_get16(const uint8_t *p) { return (uint16_t)le_get(p, 2); }
static inline uint32_t le_get32(const uint8_t *p) { return (uint32_t)le_get(p, 4); }

#endif
