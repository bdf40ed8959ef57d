/* fs9p/locks.c — the server's POSIX lock table (see locks.h): a flat array
 * of owner ranges, searched linearly (locks are few and short-lived). */
#include "fs9p/locks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool same_owner(const struct p9_lock_owner *a, const struct p9_lock_owner *b)
{
    return a->proc_id == b->proc_id && a->client_len == b->client_len
        && memcmp(a->client, b->client, a->client_len) == 0;
}

static bool overlaps(const struct p9_lock *l, uint64_t first, uint64_t last)
{
    return l->first <= last && first <= l->last;
}

static int to_bounds(const struct p9_lock_range *r, uint64_t *first, uint64_t *last)
{
    if (r->type > P9_LOCK_UNLCK)
        return EINVAL;
    *first = r->start;
    if (r->length == 0)
        *last = UINT64_MAX;
    else if (r->length - 1 > UINT64_MAX - r->start)
        return EINVAL;
    else
        *last = r->start + (r->length - 1);
    return 0;
}

/* The first lock of another owner that conflicts with a `type` lock. */
static const struct p9_lock *find_conflict(const struct p9_lock_table *t, uint64_t ino,
                                           const struct p9_lock_owner *owner, uint8_t type,
                                           uint64_t first, uint64_t last)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct p9_lock *l = &t->locks[i];
        if (l->ino == ino && overlaps(l, first, last) && !same_owner(&l->owner, owner)
            && (type == P9_LOCK_WRLCK || l->type == P9_LOCK_WRLCK))
            return l;
    }
    return NULL;
}

static int append(struct p9_lock_table *t, const struct p9_lock *l)
{
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct p9_lock *p = realloc(t->locks, ncap * sizeof *p);
        if (!p)
            return ENOLCK;
        t->locks = p;
        t->cap = ncap;
    }
    t->locks[t->count++] = *l;
    return 0;
}

/* Cuts [first, last] out of the owner's ranges on ino (splitting one range
 * in two when the hole is in its middle). */
static int carve(struct p9_lock_table *t, uint64_t ino, const struct p9_lock_owner *owner,
                 uint64_t first, uint64_t last)
{
    for (size_t i = 0; i < t->count;) {
        struct p9_lock *l = &t->locks[i];
        if (l->ino != ino || !overlaps(l, first, last) || !same_owner(&l->owner, owner)) {
            i++;
            continue;
        }
        struct p9_lock right = *l;
        bool keep_left = l->first < first, keep_right = l->last > last;
        if (keep_right) {
            right.first = last + 1;
            if (append(t, &right))
                return ENOLCK;
            l = &t->locks[i];
        }
        if (keep_left) {
            l->last = first - 1;
            i++;
        } else {
            t->locks[i] = t->locks[--t->count];
        }
    }
    return 0;
}

int p9_locks_set(struct p9_lock_table *t, uint64_t ino, const struct p9_lock_owner *owner,
                 const struct p9_lock_range *range)
{
    uint64_t first, last;
    if (to_bounds(range, &first, &last))
        return -EINVAL;
    if (range->type != P9_LOCK_UNLCK && find_conflict(t, ino, owner, range->type, first, last))
        return P9_LOCK_BLOCKED;
    if (t->count + 2 > P9_LOCK_TABLE_MAX)
        return -ENOLCK;
    if (carve(t, ino, owner, first, last))
        return -ENOLCK;
    if (range->type == P9_LOCK_UNLCK)
        return P9_LOCK_SUCCESS;
    struct p9_lock l = { .ino = ino, .type = range->type, .first = first, .last = last,
                         .owner = *owner };
    return append(t, &l) ? -ENOLCK : P9_LOCK_SUCCESS;
}

bool p9_locks_test(const struct p9_lock_table *t, uint64_t ino, const struct p9_lock_owner *owner,
                   struct p9_lock_range *range, struct p9_lock_owner *holder)
{
    uint64_t first, last;
    const struct p9_lock *l = NULL;
    if (range->type != P9_LOCK_UNLCK && to_bounds(range, &first, &last) == 0)
        l = find_conflict(t, ino, owner, range->type, first, last);
    if (!l) {
        range->type = P9_LOCK_UNLCK;
        return false;
    }
    range->type = l->type;
    range->start = l->first;
    range->length = l->last == UINT64_MAX ? 0 : l->last - l->first + 1;
    *holder = l->owner;
    return true;
}

void p9_locks_clear(struct p9_lock_table *t)
{
    free(t->locks);
    *t = (struct p9_lock_table){ 0 };
}
