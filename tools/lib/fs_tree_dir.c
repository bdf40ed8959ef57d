/* tools/lib/fs_tree_dir.c — fs_tree from a directory.
 *
 * Promises: a walk that never follows a symlink (every step is an openat or
 * fstatat relative to the directory already open, with O_NOFOLLOW), reads
 * each regular file once (a hard link is read again under each name) and
 * notices a file swapped or resized while it is read.
 */
#include "tools/lib/fs_tree_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fill_meta(struct fs_node *n, const struct stat *st)
{
    n->mode = st->st_mode;
    n->size = (uint64_t)st->st_size;
    n->mtime = (int64_t)st->st_mtim.tv_sec;
    n->uid = st->st_uid;
    n->gid = st->st_gid;
}

static long pull_fd(struct fs_reader *r, void *src, void *buf, size_t cap)
{
    ssize_t got;
    do
        got = read(*(int *)src, buf, cap);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        fs_fail(r->err, "%s: %s", r->path, strerror(errno));
    return (long)got;
}

static bool hash_fd(struct fs_reader *r, int fd, struct fs_node *file)
{
    return fs_content_read(r, pull_fd, &fd, file);
}

static bool read_file_at(struct fs_reader *r, int dfd, const char *name, const struct stat *st,
                         struct fs_node *file)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(r->err, "%s: %s", r->path, strerror(errno));
    struct stat now;
    bool ok = fstat(fd, &now) == 0 && S_ISREG(now.st_mode) && now.st_ino == st->st_ino &&
              now.st_dev == st->st_dev;
    if (!ok)
        fs_fail(r->err, "%s: changed while being read", r->path);
    else
        ok = hash_fd(r, fd, file);
    close(fd);
    return ok;
}

static bool read_link_at(struct fs_reader *r, int dfd, const char *name, struct fs_node *link)
{
    char target[FS_PATH_MAX + 1];
    ssize_t n = readlinkat(dfd, name, target, sizeof target);
    if (n < 0)
        return fs_fail(r->err, "%s: %s", r->path, strerror(errno));
    if ((size_t)n >= sizeof target)
        return fs_fail(r->err, "%s: symlink target longer than %d bytes", r->path, FS_PATH_MAX);
    target[n] = '\0';
    if (!(link->target = strdup(target)))
        return fs_fail(r->err, "out of memory");
    link->size = (uint64_t)n;
    return true;
}

static bool walk(struct fs_reader *r, int dfd, size_t len, struct fs_node *dir);

static bool read_entry(struct fs_reader *r, int dfd, const char *name, size_t len,
                       struct fs_node *dir)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fs_fail(r->err, "%s: %s", r->path, strerror(errno));
    struct fs_node *n = fs_node_child(dir, name, r->err);
    if (!n)
        return false;
    fill_meta(n, &st);
    if (S_ISREG(st.st_mode))
        return read_file_at(r, dfd, name, &st, n);
    if (S_ISLNK(st.st_mode))
        return read_link_at(r, dfd, name, n);
    if (!S_ISDIR(st.st_mode))
        return true;
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return fs_fail(r->err, "%s: %s", r->path, strerror(errno));
    return walk(r, sub, len, n);
}

/* Puts "dir/name" into r->path; its length in *len. */
static bool push_name(struct fs_reader *r, size_t len, const char *name, size_t *out)
{
    size_t n = strlen(name), at = len + (len > 0);
    if (at + n >= sizeof r->path)
        return fs_fail(r->err, "%.64s...: path longer than %zu bytes", r->path,
                       sizeof r->path - 1);
    if (len > 0)
        r->path[len] = '/';
    memcpy(r->path + at, name, n + 1);
    *out = at + n;
    return true;
}

/* Reads the directory open as dfd (and closes it) into dir; r->path[0..len)
 * is its path. */
static bool walk(struct fs_reader *r, int dfd, size_t len, struct fs_node *dir)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return fs_fail(r->err, "%s: %s", len ? r->path : r->input, strerror(errno));
    }
    bool ok = true;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                ok = fs_fail(r->err, "%s: %s", len ? r->path : r->input, strerror(errno));
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t sub_len = 0;
        ok = push_name(r, len, de->d_name, &sub_len) &&
             (fs_reader_excluded(r, r->path) || read_entry(r, dirfd(d), de->d_name, sub_len, dir));
        if (!ok)
            break;
        r->path[len] = '\0';
    }
    closedir(d);
    return ok;
}

bool fs_read_dir(struct fs_reader *r, const char *dir, struct fs_node *root)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(r->err, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0)
        fill_meta(root, &st);
    r->path[0] = '\0';
    return walk(r, fd, 0, root);
}
