/* ops_alu.c — (to be written) */
#include "internal.h"

const struct opdesc ops_alu[] = {
    OPDESC_END
};
