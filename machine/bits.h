/* bits.h — small helpers shared by the bus modules. */
#ifndef PLAN86_BITS_H
#define PLAN86_BITS_H

#include <stdint.h>

/* All ones in the low `size` bytes (size 1, 2 or 4). */
static inline uint32_t access_mask(int size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

#endif
