/* fs_import.h — copies a host directory tree into a 9p back end.
 *
 * Promises: fs_import_tree puts every directory, regular file (contents),
 * symlink (target text) and FIFO of `host_dir` into the back end's root with
 * the host's permission bits, owner and mtime, never following a host symlink;
 * device nodes and sockets are skipped with a count. On failure it returns an
 * errno and one line in err naming the path.
 */
#ifndef PLAN86_FS_IMPORT_H
#define PLAN86_FS_IMPORT_H

#include <stddef.h>

#include "fs9p/backend.h"

int fs_import_tree(const struct p9_backend *b, const char *host_dir, char *err, size_t err_size);

#endif
