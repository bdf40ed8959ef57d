/* tools/lib/atomic_file.h — files that appear whole or not at all.
 *
 * Promises: a file is written under a hidden temporary name in the
 * directory it will live in (".plan86-tmp-XXXXXX") and renamed to its name
 * only when complete, so a reader (a web server, a second run) never sees
 * half of it. Discarding removes the temporary file.
 */
#ifndef PLAN86_TOOLS_ATOMIC_FILE_H
#define PLAN86_TOOLS_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/lib/fs_tree.h"

struct atomic_file {
    int fd;                       /* -1 when not open */
    char tmp[FS_PATH_MAX];
};

/* Creates the temporary file in `dir`. */
bool atomic_open(struct atomic_file *f, const char *dir, struct fs_err *e);
bool atomic_write(struct atomic_file *f, const void *data, size_t len, struct fs_err *e);
/* Makes it readable (0666 less the umask) and renames it to `path`, which
 * must be in the same directory. Discards it on failure. */
bool atomic_commit(struct atomic_file *f, const char *path, struct fs_err *e);
void atomic_discard(struct atomic_file *f);

#endif
