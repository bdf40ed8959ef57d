/* ops_muldiv.c — (to be written) */
#include "internal.h"

const struct opdesc ops_muldiv[] = {
    OPDESC_END
};
