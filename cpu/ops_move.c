/* ops_move.c — (to be written) */
#include "internal.h"

const struct opdesc ops_move[] = {
    OPDESC_END
};
