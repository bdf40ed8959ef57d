/* ops_fpu.c — (to be written) */
#include "internal.h"

const struct opdesc ops_fpu[] = {
    OPDESC_END
};
