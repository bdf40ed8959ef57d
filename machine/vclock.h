/* vclock.h — the machine's virtual clock, in nanoseconds.
 *
 * Promises: time never goes backwards. Deterministic mode: time is a pure
 * function of the retired-instruction count (ns_per_insn each) plus explicit
 * skips over idle periods; the host clock is never read. Realtime mode: while
 * running, time follows the host monotonic clock; while stopped, it stands still.
 */
#ifndef PLAN86_VCLOCK_H
#define PLAN86_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct vclock {
    bool deterministic;
    bool running;             /* realtime: host time is flowing into guest time */
    uint32_t ns_per_insn;
    uint64_t anchor_ns;       /* virtual time at the anchor */
    uint64_t anchor_icount;   /* deterministic: instruction count at the anchor */
    uint64_t anchor_host_ns;  /* realtime: host time at the anchor */
};

uint64_t host_monotonic_ns(void);

void vclock_init(struct vclock *vc, bool deterministic, uint32_t ns_per_insn, uint64_t icount);
uint64_t vclock_now(const struct vclock *vc, uint64_t icount);
/* Realtime: start or stop following the host clock (no-ops when deterministic). */
void vclock_resume(struct vclock *vc);
void vclock_pause(struct vclock *vc);
/* Deterministic idle: jump to `ns` (ignored if not in the future). */
void vclock_skip_to(struct vclock *vc, uint64_t ns, uint64_t icount);
/* Instructions until virtual time reaches `ns` (deterministic), at least 1. */
uint64_t vclock_insns_until(const struct vclock *vc, uint64_t ns, uint64_t icount);

#endif
