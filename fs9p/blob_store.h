/* fs9p/blob_store.h — the contents of a v86 fs.json image, fetched on demand.
 *
 * Promises: a blob (named as in blob_name.h, of a size the fs.json gives) is
 * fetched from the base (an http:// or https:// URL, a file:// URL or a
 * local directory) the first time it is wanted, checked (its size, and its
 * SHA-256 against its name; zstd content decompressed to exactly that size),
 * and kept in a bounded in-memory cache shared by every open of every file:
 * reopening a file does not fetch it again. With a cache directory, checked
 * blobs are also kept on disk and found there by later runs.
 *
 * Failures never hang: a 404 (or another 4xx) fails at once; 5xx answers,
 * timeouts and connection errors are retried with a growing back-off a bounded
 * number of times, then fail. Each failure is reported by one line through
 * the log callback and the waiter gets EIO.
 *
 * Threading: every function is called from one thread (the guest thread).
 * Fetches run on the store's worker threads; their results come back through
 * `post`, which must run the given function on the guest thread later; the
 * store then calls each waiter's wake there. With `synchronous` (the
 * deterministic machine) no thread is started and blob_store_prepare fetches
 * before it returns, so a run does not depend on network timing.
 */
#ifndef PLAN86_FS9P_BLOB_STORE_H
#define PLAN86_FS9P_BLOB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"

struct blob_store;

/* Runs fn(arg) on the guest thread soon. Called from worker threads. */
typedef void (*blob_post_fn)(void *ctx, void (*fn)(void *arg), void *arg);
/* One line of text, no newline: an error, or progress (see progress below). */
typedef void (*blob_log_fn)(void *ctx, const char *line);

struct blob_store_config {
    const char *base;            /* URL or directory the blob names are relative to */
    uint64_t cache_bytes;        /* in-memory cache bound; 0 = 64 MiB */
    const char *cache_dir;       /* NULL: no disk cache */
    unsigned max_tries;          /* attempts for a transient failure; 0 = 4 */
    unsigned first_backoff_ms;   /* doubled after each failed attempt; 0 = 250 */
    unsigned timeout_ms;         /* an attempt fails after this long without a byte; 0 = 30000 */
    unsigned workers;            /* fetch threads; 0 = 4 */
    bool synchronous;
    blob_post_fn post;           /* required unless synchronous */
    void *post_ctx;
    blob_log_fn log;             /* NULL: stderr with a "plan86: " prefix */
    void *log_ctx;
    bool progress;               /* log a progress line while downloads last long */
};

/* NULL on failure with one line in err (e.g. a base that is neither a URL
 * nor a directory). */
struct blob_store *blob_store_new(const struct blob_store_config *cfg, char *err, size_t err_size);
/* Stops the workers, calls every outstanding wake with ECANCELED, frees all. */
void blob_store_free(struct blob_store *s);

/* Makes blob `name` of `size` bytes readable: 0 when it is cached now, EIO
 * when it cannot be had (bad name, failed fetch, failed check), or P9_PENDING
 * after arranging for wake(arg, err) to be called exactly once, later, on the
 * guest thread. A failed blob is tried again by the next prepare. */
int blob_store_prepare(struct blob_store *s, const char *name, uint64_t size,
                       p9_wake_fn wake, void *arg);
/* Copies up to count bytes from offset off of a cached blob (*done = bytes
 * copied, 0 at its end). EIO if the blob is not cached (never prepared, or
 * evicted since: prepare again). */
int blob_store_read(struct blob_store *s, const char *name, uint64_t off, void *buf,
                    uint32_t count, uint32_t *done);
/* Fetches blob `name` now if it is not cached, blocking the caller (for the
 * embedder's read_file, not for guest requests). 0 or EIO. */
int blob_store_fetch_now(struct blob_store *s, const char *name, uint64_t size);
/* Starts fetching a blob nobody waits for yet (prefetch at boot). */
void blob_store_prefetch(struct blob_store *s, const char *name, uint64_t size);

/* Reads a whole small file (the fs.json itself) relative to nothing: `where`
 * is a URL or a path. Blocking, with the same retry rules: max_tries >= 1
 * attempts, timeout_ms without a byte ends one. *data is
 * malloc'd and NUL-terminated (*len excludes the NUL). 0, or an errno with
 * one line in err. */
int blob_fetch_file(const char *where, unsigned max_tries, unsigned timeout_ms,
                    void **data, size_t *len, char *err, size_t err_size);

struct blob_store_stats {
    uint64_t fetches;            /* completed network or file fetches */
    uint64_t fetched_bytes;      /* bytes transferred (compressed size) */
    uint64_t cache_hits;         /* prepares answered from memory */
    uint64_t disk_hits;          /* fetches answered by the cache directory */
    uint64_t failures;           /* prepares that ended in EIO */
    uint64_t cached_bytes;       /* bytes held in memory now */
};
void blob_store_get_stats(const struct blob_store *s, struct blob_store_stats *out);

#endif
