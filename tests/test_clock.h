/* test_clock.h — moving a bare test machine's virtual time by hand.
 *
 * Promises: test_advance_to puts the deterministic clock at exactly `ns` and
 * fires the timers due by then, as the run loop would while the CPU idles.
 */
#ifndef PLAN86_TEST_CLOCK_H
#define PLAN86_TEST_CLOCK_H

#include <check.h>

#include "cpu/cpu.h"
#include "machine/machine.h"

static inline void test_advance_to(struct machine *m, uint64_t ns)
{
    vclock_skip_to(&m->clock, ns, cpu_icount(m->cpu));
    ck_assert_uint_eq(machine_now_ns(m), ns);
    sched_run_due(&m->sched, ns);
}

#endif
