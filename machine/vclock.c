/* vclock.c — the virtual clock (see vclock.h). */
#include "vclock.h"

#include <time.h>

uint64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vclock_init(struct vclock *vc, bool deterministic, uint32_t ns_per_insn, uint64_t icount)
{
    *vc = (struct vclock){
        .deterministic = deterministic,
        .ns_per_insn = ns_per_insn ? ns_per_insn : 1,
        .anchor_icount = icount,
    };
}

uint64_t vclock_now(const struct vclock *vc, uint64_t icount)
{
    if (vc->deterministic)
        return vc->anchor_ns + (icount - vc->anchor_icount) * vc->ns_per_insn;
    if (!vc->running)
        return vc->anchor_ns;
    return vc->anchor_ns + (host_monotonic_ns() - vc->anchor_host_ns);
}

void vclock_resume(struct vclock *vc)
{
    if (vc->deterministic || vc->running)
        return;
    vc->anchor_host_ns = host_monotonic_ns();
    vc->running = true;
}

void vclock_pause(struct vclock *vc)
{
    if (vc->deterministic || !vc->running)
        return;
    vc->anchor_ns = vclock_now(vc, 0);
    vc->running = false;
}

void vclock_skip_to(struct vclock *vc, uint64_t ns, uint64_t icount)
{
    if (!vc->deterministic || ns <= vclock_now(vc, icount))
        return;
    vc->anchor_ns = ns;
    vc->anchor_icount = icount;
}

uint64_t vclock_insns_until(const struct vclock *vc, uint64_t ns, uint64_t icount)
{
    uint64_t now = vclock_now(vc, icount);
    if (ns <= now)
        return 1;
    uint64_t insns = (ns - now + vc->ns_per_insn - 1) / vc->ns_per_insn;
    return insns ? insns : 1;
}
