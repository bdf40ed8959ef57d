/* ops_control.c — (to be written) */
#include "internal.h"

const struct opdesc ops_control[] = {
    OPDESC_END
};
