/* fs9p/backend_json.h — the `json` back end: a v86 fs.json image on demand.
 *
 * Promises: the index (a URL or a path) is read and checked once at start;
 * the tree it describes is an in-memory tree (backend_mem.h) whose files are
 * blobs in a blob store (blob_store.h): fetched on first read, shared by all
 * opens, and copied into memory when the guest first changes them. Any
 * failure to start is one line in err. The back end owns the store; both
 * go with the tree's destroy.
 */
#ifndef PLAN86_FS9P_BACKEND_JSON_H
#define PLAN86_FS9P_BACKEND_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend_mem.h"
#include "fs9p/blob_store.h"

struct p9_json_config {
    const char *index;           /* the fs.json: http(s):// or file:// URL, or a path */
    const char *base;            /* where blobs are; NULL: the index's directory */
    uint64_t cache_bytes;        /* blob cache bound (blob_store.h) */
    const char *cache_dir;       /* NULL: no disk cache */
    const char *prefetch;        /* NULL, or a file of guest paths to fetch at once */
    uint64_t capacity_bytes;     /* written files' memory; 0: the mem default */
    bool synchronous;            /* fetch on the guest thread (deterministic runs) */
    blob_post_fn post;           /* required unless synchronous */
    void *post_ctx;
    blob_log_fn log;             /* NULL: stderr */
    void *log_ctx;
    bool progress;
    p9_clock_fn clock;           /* file times of changes (backend_mem.h) */
    void *clock_ctx;
};

int p9_json_new(const struct p9_json_config *cfg, struct p9_backend *out, char *err,
                size_t err_size);

#endif
