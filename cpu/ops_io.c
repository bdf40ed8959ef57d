/* ops_io.c — (to be written) */
#include "internal.h"

const struct opdesc ops_io[] = {
    OPDESC_END
};
