/* fs9p/backend_mem.h — the `mem` back end: a file system held in host memory.
 *
 * Promises: an inode tree with POSIX ownership, modes, nanosecond times,
 * hard links, symlinks and device-node metadata behind the operations table
 * of backend.h. File data lives in a sparse chunk map (writing at 5 GiB
 * allocates one chunk, holes read as zeros) whose chunks grow only to what
 * they hold, so a small file costs about its size. The tree is bounded (data bytes
 * and object count from the config): a hostile guest gets ENOSPC, never
 * the host's memory. Directory cookies are per-entry sequence numbers, so a
 * listing resumes correctly across concurrent creates and unlinks.
 * Helpers let the embedder put files in and take them out by path.
 */
#ifndef PLAN86_FS9P_BACKEND_MEM_H
#define PLAN86_FS9P_BACKEND_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"

/* Reads the clock for file times, in nanoseconds since the Unix epoch. */
typedef uint64_t (*p9_clock_fn)(void *ctx);

struct p9_mem_config {
    uint64_t capacity_bytes;   /* file data limit; 0 = 1 GiB */
    uint64_t max_objects;      /* inodes + directory entries; 0 = 1 Mi */
    p9_clock_fn clock;         /* NULL = the host's CLOCK_REALTIME */
    void *clock_ctx;
};

/* Fills *out with a new empty tree (root directory 0755, uid/gid 0).
 * Returns 0 or ENOMEM. Free it with out->ops->destroy(out->be). */
int p9_mem_new(const struct p9_mem_config *cfg, struct p9_backend *out);

/* Creates (or replaces the contents of) the regular file at the absolute or
 * root-relative `path`, making missing parent directories (0755); the file
 * gets mode 0644 and owner 0:0 when new. Returns 0 or an errno. */
int p9_mem_create_file(struct p9_backend *b, const char *path, const void *data, size_t len);

/* Reads the whole regular file at `path` into a malloc'd buffer (*data,
 * *len; free it). Returns 0 or an errno (ENOENT, EISDIR, ENOMEM). */
int p9_mem_read_file(struct p9_backend *b, const char *path, void **data, size_t *len);

#endif
