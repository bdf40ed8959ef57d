/* ops_string.c — (to be written) */
#include "internal.h"

const struct opdesc ops_string[] = {
    OPDESC_END
};
