/* ops_system.c — (to be written) */
#include "internal.h"

const struct opdesc ops_system[] = {
    OPDESC_END
};
