/* fs9p/confine.c — host file access confined beneath one root directory.
 *
 * How confinement holds (see confine.h for the promises):
 *  - an object is reached only by a chain of single-name openat() calls with
 *    O_PATH|O_NOFOLLOW from the root, so "..", absolute paths and symlinks in
 *    a name never take effect, and swapping a directory for a symlink between
 *    two steps of a walk only makes the next step fail with ENOTDIR (the
 *    descriptor already held still names the object looked up);
 *  - operations on an object use its descriptor (AT_EMPTY_PATH with
 *    AT_SYMLINK_NOFOLLOW) or, where Linux has no such call, the
 *    /proc/self/fd/N magic link, which names exactly that object — after a
 *    type check so a symlink or device node is never opened or followed;
 *  - new names are created with *at() calls that never follow a symlink in
 *    the final component (O_CREAT|O_EXCL, mkdirat, mknodat, symlinkat...).
 */
#include "fs9p/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* More levels than this above an object when checking it lies beneath the
 * root: give up (ELOOP) rather than climb forever. */
enum { CONFINE_MAX_DEPTH = 4096 };

/* Magic links in /proc/self/fd are used only with a type already checked. */
typedef char proc_path_t[40];

static const char *proc_path(int fd, proc_path_t buf)
{
    snprintf(buf, sizeof(proc_path_t), "/proc/self/fd/%d", fd);
    return buf;
}

/* 0 after a call that succeeded (rc >= 0), else the errno it left. */
static int status_of(int rc)
{
    return rc < 0 ? errno : 0;
}

static int stat_fd(int fd, struct stat *st)
{
    return status_of(fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

/* The S_IFMT type of the object behind fd, or 0 with *err set. */
static mode_t type_of(int fd, int *err)
{
    struct stat st;
    *err = stat_fd(fd, &st);
    return *err ? 0 : (st.st_mode & S_IFMT);
}

int confine_check_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL)
        return EINVAL;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return EINVAL;
    return strlen(name) > NAME_MAX ? ENAMETOOLONG : 0;
}

int confine_open_root(const char *host_dir, int *root_fd, char *err, size_t err_size)
{
    int fd = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_size, "cannot use '%s' as the shared directory: %s", host_dir,
                 strerror(e));
        return e;
    }
    proc_path_t pp;
    struct stat via_proc;
    if (stat(proc_path(fd, pp), &via_proc) != 0) {
        int e = errno;
        close(fd);
        snprintf(err, err_size, "the shared directory needs /proc mounted (%s: %s)", pp,
                 strerror(e));
        return e;
    }
    *root_fd = fd;
    return 0;
}

int confine_lookup(int dir_fd, const char *name, int *out_fd)
{
    int e = confine_check_name(name);
    if (e)
        return e;
    int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno;
    *out_fd = fd;
    return 0;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

bool confine_same_object(int fd_a, int fd_b)
{
    struct stat a, b;
    return stat_fd(fd_a, &a) == 0 && stat_fd(fd_b, &b) == 0 && same_stat(&a, &b);
}

static int parent_of(int fd, int *out_fd)
{
    int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0)
        return errno;
    *out_fd = up;
    return 0;
}

/* 0 if directory `fd` is the root or lies beneath it, else EACCES (or an
 * error met while climbing). */
static int check_beneath(int root_fd, int fd)
{
    struct stat root_st, cur_st;
    int e = stat_fd(root_fd, &root_st);
    int cur = e ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (e || cur < 0)
        return e ? e : errno;
    e = ELOOP;
    for (int depth = 0; depth < CONFINE_MAX_DEPTH; depth++) {
        int up = -1;
        int step = stat_fd(cur, &cur_st);
        if (!step && same_stat(&cur_st, &root_st)) {
            e = 0;
            break;
        }
        if (!step)
            step = parent_of(cur, &up);
        if (!step && confine_same_object(up, cur))
            step = EACCES; /* climbed to the host's "/" without meeting the root */
        close(cur);
        cur = up;
        if (step) {
            e = step;
            break;
        }
    }
    if (cur >= 0)
        close(cur);
    return e;
}

int confine_parent(int root_fd, int node_fd, int *out_fd)
{
    if (confine_same_object(root_fd, node_fd)) {
        int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            return errno;
        *out_fd = fd;
        return 0;
    }
    int up = -1;
    int e = parent_of(node_fd, &up);
    if (e)
        return e;
    e = check_beneath(root_fd, up);
    if (e) {
        close(up);
        return e;
    }
    *out_fd = up;
    return 0;
}

/* 0 if the object may be opened for I/O (a regular file or a directory). */
static int check_openable(int node_fd)
{
    int e;
    mode_t type = type_of(node_fd, &e);
    if (e)
        return e;
    if (type == S_IFLNK)
        return ELOOP;
    return (type == S_IFREG || type == S_IFDIR) ? 0 : ENXIO;
}

int confine_reopen(int node_fd, int flags, int *out_fd)
{
    int e = check_openable(node_fd);
    if (e)
        return e;
    proc_path_t pp;
    flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_PATH | O_TMPFILE);
    int fd = open(proc_path(node_fd, pp), flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno;
    *out_fd = fd;
    return 0;
}

int confine_path_of(int open_fd, int *out_fd)
{
    proc_path_t pp;
    int fd = open(proc_path(open_fd, pp), O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno;
    *out_fd = fd;
    return 0;
}

int confine_create(int dir_fd, const char *name, int flags, mode_t mode, int *out_fd)
{
    int e = confine_check_name(name);
    if (e)
        return e;
    flags &= ~(O_PATH | O_TMPFILE | O_DIRECTORY);
    int fd = openat(dir_fd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    mode & 07777);
    if (fd < 0)
        return errno;
    *out_fd = fd;
    return 0;
}

int confine_mkdir(int dir_fd, const char *name, mode_t mode)
{
    int e = confine_check_name(name);
    return e ? e : status_of(mkdirat(dir_fd, name, mode & 07777));
}

int confine_symlink(int dir_fd, const char *name, const char *target)
{
    int e = confine_check_name(name);
    return e ? e : status_of(symlinkat(target, dir_fd, name));
}

int confine_mknod(int dir_fd, const char *name, mode_t mode)
{
    int e = confine_check_name(name);
    if (e)
        return e;
    switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
        return status_of(mknodat(dir_fd, name, mode & (S_IFMT | 07777), 0));
    case S_IFCHR:
    case S_IFBLK:
        return EPERM; /* a host device node would give the host's device */
    default:
        return EINVAL;
    }
}

int confine_link(int target_fd, int dir_fd, const char *name)
{
    int e = confine_check_name(name);
    if (e)
        return e;
    if (linkat(target_fd, "", dir_fd, name, AT_EMPTY_PATH) == 0)
        return 0;
    /* Without CAP_DAC_READ_SEARCH, older kernels refuse AT_EMPTY_PATH with
     * ENOENT: link through the magic link, which names the same object. */
    int link_err = errno;
    mode_t type = type_of(target_fd, &e);
    if (link_err != ENOENT || e || type == S_IFDIR)
        return link_err;
    proc_path_t pp;
    return status_of(linkat(AT_FDCWD, proc_path(target_fd, pp), dir_fd, name, AT_SYMLINK_FOLLOW));
}

int confine_rename(int old_dir_fd, const char *old_name, int new_dir_fd, const char *new_name)
{
    int e = confine_check_name(old_name);
    if (!e)
        e = confine_check_name(new_name);
    return e ? e : status_of(renameat(old_dir_fd, old_name, new_dir_fd, new_name));
}

int confine_unlink(int dir_fd, const char *name, bool remove_dir)
{
    int e = confine_check_name(name);
    return e ? e : status_of(unlinkat(dir_fd, name, remove_dir ? AT_REMOVEDIR : 0));
}

int confine_stat(int node_fd, struct statx *out)
{
    return status_of(statx(node_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
                           STATX_BASIC_STATS | STATX_BTIME, out));
}

int confine_chmod(int node_fd, mode_t mode)
{
    int e;
    mode_t type = type_of(node_fd, &e);
    if (e)
        return e;
    if (type == S_IFLNK)
        return EOPNOTSUPP; /* Linux symlinks have no mode of their own */
    proc_path_t pp;
    return status_of(fchmodat(AT_FDCWD, proc_path(node_fd, pp), mode & 07777, 0));
}

int confine_chown(int node_fd, uid_t uid, gid_t gid)
{
    return status_of(fchownat(node_fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

int confine_truncate(int node_fd, off_t size)
{
    if (size < 0)
        return EINVAL;
    int e;
    mode_t type = type_of(node_fd, &e);
    if (e)
        return e;
    if (type != S_IFREG)
        return type == S_IFDIR ? EISDIR : EINVAL;
    proc_path_t pp;
    return status_of(truncate(proc_path(node_fd, pp), size));
}

int confine_utimens(int node_fd, const struct timespec times[2])
{
    return status_of(utimensat(node_fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

int confine_readlink(int node_fd, char *buf, size_t cap, size_t *len)
{
    int e;
    if (type_of(node_fd, &e) != S_IFLNK)
        return e ? e : EINVAL;
    char target[PATH_MAX];
    ssize_t n = readlinkat(node_fd, "", target, sizeof target);
    if (n < 0)
        return errno;
    if ((size_t)n == sizeof target)
        return ENAMETOOLONG;
    *len = (size_t)n;
    if ((size_t)n > cap)
        return ERANGE;
    memcpy(buf, target, (size_t)n);
    return 0;
}
