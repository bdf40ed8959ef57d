/* ops_stack.c — (to be written) */
#include "internal.h"

const struct opdesc ops_stack[] = {
    OPDESC_END
};
