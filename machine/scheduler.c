/* machine/scheduler.c — timed events on a binary min-heap (see scheduler.h). */
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>

void sched_init(struct sched *s)
{
    *s = (struct sched){ 0 };
}

void sched_free(struct sched *s)
{
    for (size_t k = 0; k < s->count; k++)
        s->heap[k]->heap_pos = SIZE_MAX;
    free(s->heap);
    *s = (struct sched){ 0 };
}

void timer_init(struct timer *t, timer_fn fn, void *opaque)
{
    *t = (struct timer){ .heap_pos = SIZE_MAX, .fn = fn, .opaque = opaque };
}

bool timer_armed(const struct timer *t)
{
    return t->heap_pos != SIZE_MAX;
}

static bool fires_before(const struct timer *a, const struct timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct sched *s, size_t pos, struct timer *t)
{
    s->heap[pos] = t;
    t->heap_pos = pos;
}

static void sift_up(struct sched *s, size_t pos)
{
    struct timer *t = s->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!fires_before(t, s->heap[parent]))
            break;
        heap_place(s, pos, s->heap[parent]);
        pos = parent;
    }
    heap_place(s, pos, t);
}

static void sift_down(struct sched *s, size_t pos)
{
    struct timer *t = s->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= s->count)
            break;
        if (child + 1 < s->count && fires_before(s->heap[child + 1], s->heap[child]))
            child++;
        if (!fires_before(s->heap[child], t))
            break;
        heap_place(s, pos, s->heap[child]);
        pos = child;
    }
    heap_place(s, pos, t);
}

static void heap_grow(struct sched *s)
{
    size_t cap = s->capacity ? 2 * s->capacity : 16;
    struct timer **heap = realloc(s->heap, cap * sizeof *heap);
    if (!heap) {
        fputs("plan86: out of memory growing the timer heap\n", stderr);
        abort();
    }
    s->heap = heap;
    s->capacity = cap;
}

void sched_cancel(struct sched *s, struct timer *t)
{
    if (!timer_armed(t))
        return;
    size_t pos = t->heap_pos;
    t->heap_pos = SIZE_MAX;
    struct timer *last = s->heap[--s->count];
    if (last == t)
        return;
    heap_place(s, pos, last);
    sift_up(s, pos);
    sift_down(s, last->heap_pos);
}

void sched_arm(struct sched *s, struct timer *t, uint64_t deadline_ns)
{
    sched_cancel(s, t);
    if (s->count == s->capacity)
        heap_grow(s);
    t->deadline = deadline_ns;
    t->seq = s->next_seq++;
    heap_place(s, s->count++, t);
    sift_up(s, t->heap_pos);
}

uint64_t sched_next_deadline(const struct sched *s)
{
    return s->count ? s->heap[0]->deadline : SCHED_NEVER;
}

size_t sched_run_due(struct sched *s, uint64_t now)
{
    size_t fired = 0;
    while (s->count && s->heap[0]->deadline <= now) {
        struct timer *t = s->heap[0];
        sched_cancel(s, t);
        t->fn(t->opaque);
        fired++;
    }
    return fired;
}
