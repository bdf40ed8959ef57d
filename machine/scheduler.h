/* machine/scheduler.h — timed events on the virtual clock.
 *
 * Promises: a timer (owned by its device) is either idle or armed at one
 * deadline in virtual nanoseconds. Due timers fire in deadline order; timers
 * with equal deadlines fire in the order they were armed, so runs are
 * reproducible. Arming an armed timer moves it; cancelling is always allowed.
 * A callback may arm or cancel any timer, itself included (re-arming for a
 * time not after `now` fires it again in the same sweep). Backed by a binary
 * min-heap: arm, cancel and fire are O(log n).
 */
#ifndef PLAN86_SCHED_H
#define PLAN86_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_NEVER UINT64_MAX

typedef void (*timer_fn)(void *opaque);

struct timer {
    uint64_t deadline;
    uint64_t seq;        /* arming order, breaks deadline ties */
    size_t heap_pos;     /* SIZE_MAX when idle */
    timer_fn fn;
    void *opaque;
};

struct sched {
    struct timer **heap;
    size_t count, capacity;
    uint64_t next_seq;
};

void sched_init(struct sched *s);
void sched_free(struct sched *s);
void timer_init(struct timer *t, timer_fn fn, void *opaque);
bool timer_armed(const struct timer *t);
void sched_arm(struct sched *s, struct timer *t, uint64_t deadline_ns);
void sched_cancel(struct sched *s, struct timer *t);
/* Earliest deadline, or SCHED_NEVER when no timer is armed. */
uint64_t sched_next_deadline(const struct sched *s);
/* Fires every timer due at `now` (including ones armed by callbacks for a
 * time <= now). Returns how many fired. */
size_t sched_run_due(struct sched *s, uint64_t now);

#endif
