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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"

/* Contents kept elsewhere (the json back end's blob store, blob_store.h): a
 * regular file may stand for a named blob of its size until it is first
 * changed; then the blob is copied in and the file is an ordinary one. The
 * tree asks `prepare` (through the back end's own prepare) before it reads. */
struct p9_mem_blobs {
    int (*prepare)(void *ctx, const char *name, uint64_t size, p9_wake_fn wake, void *arg);
    int (*read)(void *ctx, const char *name, uint64_t off, void *buf, uint32_t count,
                uint32_t *done);
    int (*fetch_now)(void *ctx, const char *name, uint64_t size);   /* blocking */
    void (*release)(void *ctx);        /* the tree is being destroyed (after its nodes) */
    void *ctx;
};

/* Reads the clock for file times, in nanoseconds since the Unix epoch. */
typedef uint64_t (*p9_clock_fn)(void *ctx);

struct p9_mem_config {
    uint64_t capacity_bytes;   /* file data limit; 0 = 1 GiB */
    uint64_t max_objects;      /* inodes + directory entries; 0 = 1 Mi */
    p9_clock_fn clock;         /* NULL = the host's CLOCK_REALTIME */
    void *clock_ctx;
    const struct p9_mem_blobs *blobs;   /* NULL: no blob-backed files */
};

/* Fills *out with a new empty tree (root directory 0755, uid/gid 0).
 * Returns 0 or ENOMEM. Free it with out->ops->destroy(out->be). */
int p9_mem_new(const struct p9_mem_config *cfg, struct p9_backend *out);

/* One object to put in the tree as it is (an image loader's entry). */
struct p9_mem_entry {
    uint32_t mode;             /* with the type: S_IFDIR, S_IFREG or S_IFLNK */
    uint32_t uid, gid;
    uint64_t mtime_sec;        /* also its atime and ctime */
    uint64_t size;             /* regular file with a blob: the blob's size */
    const char *blob;          /* regular file: its blob name (needs cfg.blobs), or NULL: empty */
    const char *target;        /* symlink: its target */
};

/* Can `name` be one entry of a directory: 1 to 255 bytes, no '/', not "."
 * or ".."? */
bool p9_mem_valid_name(const char *name);

/* Adds `name` in dir (NULL: the root) as described. *out (if out is not
 * NULL) gets a reference on the new node. EEXIST, ENOSPC, EINVAL or ENOMEM. */
int p9_mem_add(struct p9_backend *b, struct p9_node *dir, const char *name,
               const struct p9_mem_entry *e, struct p9_node **out);

/* The blob behind the regular file at `path` while it still has one
 * (*blob points into the tree: use it at once). ENOENT, EINVAL (not a
 * regular file) or ENODATA (its contents are in memory). */
int p9_mem_file_blob(struct p9_backend *b, const char *path, const char **blob, uint64_t *size);

/* Creates (or replaces the contents of) the regular file at the absolute or
 * root-relative `path`, making missing parent directories (0755); the file
 * gets mode 0644 and owner 0:0 when new. Returns 0 or an errno. */
int p9_mem_create_file(struct p9_backend *b, const char *path, const void *data, size_t len);

/* Reads the whole regular file at `path` into a malloc'd buffer (*data,
 * *len; free it), fetching its blob if it has one. Returns 0 or an errno
 * (ENOENT, EISDIR, ENOMEM, EIO). */
int p9_mem_read_file(struct p9_backend *b, const char *path, void **data, size_t *len);

#endif
