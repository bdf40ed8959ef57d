/* fs9p/locks.h — POSIX byte-range locks served by the 9p server itself.
 *
 * Promises: fcntl-style record locks per file (keyed by qid path) and per
 * owner (the client's proc_id and client_id): read locks share, write locks
 * exclude other owners, an owner's new lock or unlock replaces whatever it
 * held on that range (splitting its older ranges). Non-blocking: a conflict
 * answers "blocked" and the client retries. The table is bounded, so a
 * hostile guest gets ENOLCK, not the host's memory.
 */
#ifndef PLAN86_FS9P_LOCKS_H
#define PLAN86_FS9P_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { P9_LOCK_RDLCK = 0, P9_LOCK_WRLCK = 1, P9_LOCK_UNLCK = 2 };
enum { P9_LOCK_SUCCESS = 0, P9_LOCK_BLOCKED = 1, P9_LOCK_ERROR = 2, P9_LOCK_GRACE = 3 };

#define P9_LOCK_CLIENT_MAX 255u
#define P9_LOCK_TABLE_MAX 8192u

struct p9_lock_owner {
    uint32_t proc_id;
    uint16_t client_len;
    char client[P9_LOCK_CLIENT_MAX];
};

/* A range as on the wire: length 0 runs to the end of the file. */
struct p9_lock_range {
    uint8_t type;
    uint64_t start;
    uint64_t length;
};

struct p9_lock {
    uint64_t ino;
    uint8_t type;
    uint64_t first, last;            /* inclusive byte range */
    struct p9_lock_owner owner;
};

struct p9_lock_table {
    struct p9_lock *locks;
    size_t count, cap;
};

/* Takes or releases a lock. Returns P9_LOCK_SUCCESS or P9_LOCK_BLOCKED, or
 * -ENOLCK / -EINVAL (bad type or range) as a negative errno. */
int p9_locks_set(struct p9_lock_table *t, uint64_t ino, const struct p9_lock_owner *owner,
                 const struct p9_lock_range *range);

/* F_GETLK: if a lock of another owner conflicts with `range`, copies it into
 * *range / *holder and returns true; else sets range->type to UNLCK. */
bool p9_locks_test(const struct p9_lock_table *t, uint64_t ino, const struct p9_lock_owner *owner,
                   struct p9_lock_range *range, struct p9_lock_owner *holder);

/* Drops every lock (session reset) and frees the table's memory. */
void p9_locks_clear(struct p9_lock_table *t);

#endif
