/* ops_shift.c — (to be written) */
#include "internal.h"

const struct opdesc ops_shift[] = {
    OPDESC_END
};
