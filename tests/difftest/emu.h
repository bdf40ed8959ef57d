/* emu.h — the plan86 side of the difftest: runs a struct dt_case in a plan86
 * CPU at CPL 3 in flat 32-bit protected mode, at the same linear addresses as
 * the native helper, and fills a struct dt_result the same way it does.
 */
#ifndef DIFFTEST_EMU_H
#define DIFFTEST_EMU_H

#include "proto.h"

/* Reported as the fault when the guest neither ends nor faults in time. */
#define DT_RUNAWAY 256
/* Reported as the fault when plan86's FRSTOR or FNSAVE around an x87 case fails. */
#define DT_FPU_STUB_FAILED 257

struct dt_emu;

struct dt_emu *dt_emu_new(void);
void dt_emu_free(struct dt_emu *e);
void dt_emu_run(struct dt_emu *e, const struct dt_case *tc, struct dt_result *res);

#endif
