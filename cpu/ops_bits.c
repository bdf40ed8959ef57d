/* ops_bits.c — (to be written) */
#include "internal.h"

const struct opdesc ops_bits[] = {
    OPDESC_END
};
