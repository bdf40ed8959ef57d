/* fs9p/fsjson_load.h — a v86 fs.json index read into an in-memory tree.
 *
 * Promises: the text of an fs.json (version 3: {"fsroot": [...], "version":
 * 3, "size": N}, entries [name, size, mtime, mode, uid, gid, x] where x is a
 * regular file's blob name, a directory's children or a symlink's target)
 * becomes directories, symlinks and blob-backed files of a mem tree, with
 * their sizes, times, modes and owners. Nothing is fetched. Entries with no
 * seventh field (devices, fifos, sockets) are skipped and counted. Anything
 * else that is not as described (other versions, bad JSON, wrong field types,
 * unsafe names, duplicate names) refuses the whole index with one line.
 */
#ifndef PLAN86_FS9P_FSJSON_LOAD_H
#define PLAN86_FS9P_FSJSON_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"

struct fsjson_summary {
    uint64_t files, dirs, symlinks;
    uint64_t skipped;            /* entries without a seventh field */
    char first_skipped[256];     /* the path of the first one, for the warning */
    uint64_t declared_size;      /* the index's "size" */
};

/* Adds the entries of the index `text` (len bytes, need not be NUL-
 * terminated) below the root of the mem tree `tree` (made with blobs).
 * `source` names the index in the error line. Returns 0, or EINVAL /
 * ENOMEM / ENOSPC with one line in err. */
int fsjson_load(struct p9_backend *tree, const char *text, size_t len, const char *source,
                struct fsjson_summary *summary, char *err, size_t err_size);

#endif
