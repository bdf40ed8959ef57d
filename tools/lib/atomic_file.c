/* tools/lib/atomic_file.c — temporary file + rename (see atomic_file.h). */
#include "tools/lib/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool atomic_open(struct atomic_file *f, const char *dir, struct fs_err *e)
{
    f->fd = -1;
    int n = snprintf(f->tmp, sizeof f->tmp, "%s/.plan86-tmp-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof f->tmp)
        return fs_fail(e, "%s: directory name too long", dir);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        f->tmp[0] = '\0';
        return fs_fail(e, "%s: cannot create a file there: %s", dir, strerror(errno));
    }
    return true;
}

bool atomic_write(struct atomic_file *f, const void *data, size_t len, struct fs_err *e)
{
    const char *p = data;
    while (len > 0) {
        ssize_t put = write(f->fd, p, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return fs_fail(e, "%s: %s", f->tmp, strerror(errno));
        p += put;
        len -= (size_t)put;
    }
    return true;
}

bool atomic_commit(struct atomic_file *f, const char *path, struct fs_err *e)
{
    mode_t mask = umask(0);
    umask(mask);
    bool ok = fchmod(f->fd, 0666 & ~mask) == 0;
    ok = close(f->fd) == 0 && ok;
    f->fd = -1;
    ok = ok && rename(f->tmp, path) == 0;
    if (!ok) {
        fs_fail(e, "%s: %s", path, strerror(errno));
        atomic_discard(f);
    }
    f->tmp[0] = '\0';
    return ok;
}

void atomic_discard(struct atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp[0])
        unlink(f->tmp);
    f->tmp[0] = '\0';
}
