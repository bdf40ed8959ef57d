/* fs9p/backend_hostdir.c — the `hostdir` 9p back end (see backend_hostdir.h).
 *
 * A node is a reference-counted O_PATH descriptor of one host object; an open
 * file is a descriptor reopened from it. Every host call that takes a name or
 * a node goes through fs9p/confine.c, which keeps it beneath the root.
 */
#include "fs9p/backend_hostdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs9p/confine.h"

struct p9_node {
    int fd;             /* O_PATH descriptor of the object */
    unsigned refs;
};

struct hostdir {
    int root_fd;
    dev_t root_dev;
};

/* An open file or directory (the per-open handle). */
struct hostdir_open {
    int fd;
};

/* P9_DOTL_* open flags with a host meaning; the rest (NOATIME needs file
 * ownership, DIRECT needs aligned buffers, NONBLOCK and NOCTTY are
 * meaningless on regular files, CLOEXEC and NOFOLLOW are always set) are
 * dropped. */
static const struct {
    uint32_t p9;
    int host;
} open_flag_map[] = {
    {P9_DOTL_TRUNC, O_TRUNC},
    {P9_DOTL_APPEND, O_APPEND},
    {P9_DOTL_DSYNC, O_DSYNC},
    {P9_DOTL_SYNC, O_SYNC},
    {P9_DOTL_DIRECTORY, O_DIRECTORY},
};

static int host_open_flags(uint32_t p9_flags, int *host)
{
    static const int access_mode[] = {O_RDONLY, O_WRONLY, O_RDWR};
    uint32_t acc = p9_flags & P9_DOTL_ACCMODE;
    if (acc >= sizeof access_mode / sizeof access_mode[0])
        return EINVAL;
    int flags = access_mode[acc];
    for (size_t i = 0; i < sizeof open_flag_map / sizeof open_flag_map[0]; i++)
        if ((p9_flags & open_flag_map[i].p9) == open_flag_map[i].p9)
            flags |= open_flag_map[i].host;
    *host = flags;
    return 0;
}

/* ---- nodes ---- */

/* Wraps path fd `fd` (taken over) in a node with one reference. */
static int node_wrap(int fd, struct p9_node **out)
{
    struct p9_node *n = malloc(sizeof *n);
    if (n == NULL) {
        close(fd);
        return ENOMEM;
    }
    n->fd = fd;
    n->refs = 1;
    *out = n;
    return 0;
}

/* The node for `name` in dir, looked up after it was made there. */
static int node_of_name(struct p9_node *dir, const char *name, struct p9_node **out)
{
    int fd;
    int e = confine_lookup(dir->fd, name, &fd);
    return e ? e : node_wrap(fd, out);
}

static struct p9_node *hostdir_retain(void *be, struct p9_node *n)
{
    (void)be;
    n->refs++;
    return n;
}

static void hostdir_release(void *be, struct p9_node *n)
{
    (void)be;
    if (n == NULL || --n->refs > 0)
        return;
    close(n->fd);
    free(n);
}

static int hostdir_root(void *be, struct p9_node **out)
{
    struct hostdir *hd = be;
    int fd = fcntl(hd->root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    return node_wrap(fd, out);
}

static int hostdir_lookup(void *be, struct p9_node *dir, const char *name, struct p9_node **out)
{
    struct hostdir *hd = be;
    int fd;
    int e = strcmp(name, "..") == 0 ? confine_parent(hd->root_fd, dir->fd, &fd)
                                    : confine_lookup(dir->fd, name, &fd);
    return e ? e : node_wrap(fd, out);
}

/* Gives a new object to the guest user who made it, where the host lets us
 * (plan86 running as root); otherwise it stays the emulator user's. */
static void adopt_owner(struct p9_node *n, const struct p9_cred *cred)
{
    if (cred != NULL && geteuid() == 0)
        (void)confine_chown(n->fd, cred->uid, cred->gid);
}

/* ---- attributes ---- */

/* The qid path: the inode number on the root's file system; objects of file
 * systems mounted inside the root get their device folded into the top 16
 * bits (with the top bit set, so they never meet the root's inodes). */
static uint64_t qid_path(const struct hostdir *hd, dev_t dev, uint64_t ino)
{
    if (dev == hd->root_dev)
        return ino;
    uint64_t tag = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) >> 49;
    return ((tag | 0x8000u) << 48) | (ino & 0xFFFFFFFFFFFFull);
}

static struct p9_timespec from_statx_time(struct statx_timestamp t)
{
    return (struct p9_timespec){.sec = (uint64_t)t.tv_sec, .nsec = t.tv_nsec};
}

static int hostdir_getattr(void *be, struct p9_node *n, struct p9_attr *out)
{
    struct statx sx;
    int e = confine_stat(n->fd, &sx);
    if (e)
        return e;
    *out = (struct p9_attr){
        .mode = sx.stx_mode,
        .uid = sx.stx_uid,
        .gid = sx.stx_gid,
        .nlink = sx.stx_nlink,
        .rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor),
        .size = sx.stx_size,
        .blksize = sx.stx_blksize,
        .blocks = sx.stx_blocks,
        .atime = from_statx_time(sx.stx_atime),
        .mtime = from_statx_time(sx.stx_mtime),
        .ctime = from_statx_time(sx.stx_ctime),
        .btime = (sx.stx_mask & STATX_BTIME) ? from_statx_time(sx.stx_btime)
                                             : (struct p9_timespec){0, 0},
        .ino = qid_path(be, makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino),
    };
    return 0;
}

/* One timestamp of a Tsetattr: untouched, "now", or the given time. */
static int setattr_time(uint32_t valid, uint32_t change_bit, uint32_t set_bit,
                        struct p9_timespec t, struct timespec *out)
{
    if (!(valid & change_bit)) {
        *out = (struct timespec){.tv_sec = 0, .tv_nsec = UTIME_OMIT};
        return 0;
    }
    if (!(valid & set_bit)) {
        *out = (struct timespec){.tv_sec = 0, .tv_nsec = UTIME_NOW};
        return 0;
    }
    if (t.nsec >= 1000000000u || t.sec > (uint64_t)INT64_MAX)
        return EINVAL;
    *out = (struct timespec){.tv_sec = (time_t)t.sec, .tv_nsec = (long)t.nsec};
    return 0;
}

static int setattr_times(struct p9_node *n, const struct p9_setattr *sa)
{
    if (!(sa->valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)))
        return 0;
    struct timespec times[2];
    int e = setattr_time(sa->valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, sa->atime, &times[0]);
    if (!e)
        e = setattr_time(sa->valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, sa->mtime, &times[1]);
    return e ? e : confine_utimens(n->fd, times);
}

static int hostdir_setattr(void *be, struct p9_node *n, const struct p9_setattr *sa)
{
    (void)be;
    int e = 0;
    if (sa->valid & P9_SETATTR_MODE)
        e = confine_chmod(n->fd, sa->mode);
    if (!e && (sa->valid & (P9_SETATTR_UID | P9_SETATTR_GID)))
        e = confine_chown(n->fd, (sa->valid & P9_SETATTR_UID) ? sa->uid : (uid_t)-1,
                          (sa->valid & P9_SETATTR_GID) ? sa->gid : (gid_t)-1);
    if (!e && (sa->valid & P9_SETATTR_SIZE))
        e = sa->size > (uint64_t)INT64_MAX ? EFBIG : confine_truncate(n->fd, (off_t)sa->size);
    return e ? e : setattr_times(n, sa);
}

/* ---- open files ---- */

static int handle_wrap(int fd, void **handle)
{
    struct hostdir_open *h = malloc(sizeof *h);
    if (h == NULL) {
        close(fd);
        return ENOMEM;
    }
    h->fd = fd;
    *handle = h;
    return 0;
}

static int hostdir_open(void *be, struct p9_node *n, uint32_t flags, void **handle)
{
    (void)be;
    int host_flags, fd;
    int e = host_open_flags(flags, &host_flags);
    if (!e)
        e = confine_reopen(n->fd, host_flags, &fd);
    return e ? e : handle_wrap(fd, handle);
}

static void hostdir_close(void *be, struct p9_node *n, void *handle)
{
    (void)be;
    (void)n;
    struct hostdir_open *h = handle;
    if (h == NULL)
        return;
    close(h->fd);
    free(h);
}

static int open_fd_of(void *handle, int *fd)
{
    struct hostdir_open *h = handle;
    if (h == NULL)
        return EBADF;
    *fd = h->fd;
    return 0;
}

/* pread or pwrite on the open file of `handle`, retried on EINTR. */
static int hostdir_io(void *handle, uint64_t off, void *buf, uint32_t count, uint32_t *done,
                      bool write, int too_far)
{
    int fd;
    int e = open_fd_of(handle, &fd);
    if (e)
        return e;
    if (off > (uint64_t)INT64_MAX)
        return too_far;
    ssize_t moved;
    do
        moved = write ? pwrite(fd, buf, count, (off_t)off) : pread(fd, buf, count, (off_t)off);
    while (moved < 0 && errno == EINTR);
    if (moved < 0)
        return errno;
    *done = (uint32_t)moved;
    return 0;
}

static int hostdir_read(void *be, struct p9_node *n, void *handle, uint64_t off, void *buf,
                        uint32_t count, uint32_t *done)
{
    (void)be;
    (void)n;
    return hostdir_io(handle, off, buf, count, done, false, EINVAL);
}

static int hostdir_write(void *be, struct p9_node *n, void *handle, uint64_t off,
                         const void *buf, uint32_t count, uint32_t *done)
{
    (void)be;
    (void)n;
    return hostdir_io(handle, off, (void *)buf, count, done, true, EFBIG);
}

/* The descriptor of an open handle, or, without one, a descriptor opened
 * from the node with `flags` for this call only (*own: close it after). */
static int io_fd(struct p9_node *n, void *handle, int flags, int *fd, bool *own)
{
    *own = open_fd_of(handle, fd) != 0;
    return *own ? confine_reopen(n->fd, flags, fd) : 0;
}

static int hostdir_fsync(void *be, struct p9_node *n, void *handle, int datasync)
{
    (void)be;
    int fd;
    bool own;
    int e = io_fd(n, handle, O_RDONLY, &fd, &own);
    if (e)
        return e;
    if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
        e = errno;
    if (own)
        close(fd);
    return e;
}

/* ---- making and removing names ---- */

static int hostdir_create(void *be, struct p9_node *dir, const char *name, uint32_t flags,
                          uint32_t mode, const struct p9_cred *cred, struct p9_node **out,
                          void **handle)
{
    (void)be;
    int host_flags, fd, path_fd;
    int e = host_open_flags(flags, &host_flags);
    if (!e)
        e = confine_create(dir->fd, name, host_flags, mode, &fd);
    if (e)
        return e;
    e = confine_path_of(fd, &path_fd);
    if (!e)
        e = node_wrap(path_fd, out);
    if (e) {
        close(fd);
        return e;
    }
    adopt_owner(*out, cred);
    e = handle_wrap(fd, handle);
    if (e)
        hostdir_release(be, *out);
    return e;
}

/* Finishes a mkdir/symlink/mknod: the node of the new name, given to cred. */
static int made_node(int made_err, struct p9_node *dir, const char *name,
                     const struct p9_cred *cred, struct p9_node **out)
{
    if (made_err)
        return made_err;
    int e = node_of_name(dir, name, out);
    if (!e)
        adopt_owner(*out, cred);
    return e;
}

static int hostdir_mkdir(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                         const struct p9_cred *cred, struct p9_node **out)
{
    (void)be;
    return made_node(confine_mkdir(dir->fd, name, mode), dir, name, cred, out);
}

static int hostdir_symlink(void *be, struct p9_node *dir, const char *name, const char *target,
                           const struct p9_cred *cred, struct p9_node **out)
{
    (void)be;
    return made_node(confine_symlink(dir->fd, name, target), dir, name, cred, out);
}

static int hostdir_mknod(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                         uint32_t major, uint32_t minor, const struct p9_cred *cred,
                         struct p9_node **out)
{
    (void)be;
    (void)major; /* device nodes are refused: the numbers are never used */
    (void)minor;
    return made_node(confine_mknod(dir->fd, name, mode), dir, name, cred, out);
}

static int hostdir_readlink(void *be, struct p9_node *n, char *buf, size_t cap, size_t *len)
{
    (void)be;
    return confine_readlink(n->fd, buf, cap, len);
}

static int hostdir_link(void *be, struct p9_node *dir, const char *name, struct p9_node *target)
{
    (void)be;
    return confine_link(target->fd, dir->fd, name);
}

static int hostdir_rename(void *be, struct p9_node *olddir, const char *oldname,
                          struct p9_node *newdir, const char *newname)
{
    (void)be;
    return confine_rename(olddir->fd, oldname, newdir->fd, newname);
}

static int hostdir_unlink(void *be, struct p9_node *dir, const char *name, uint32_t flags)
{
    (void)be;
    if (flags & ~(uint32_t)P9_AT_REMOVEDIR)
        return EINVAL;
    return confine_unlink(dir->fd, name, (flags & P9_AT_REMOVEDIR) != 0);
}

/* ---- directories and the file system ---- */

/* Lists directory fd from `cookie` (a host directory offset, which the host
 * file system keeps stable across changes). */
static int list_directory(const struct hostdir *hd, int fd, uint64_t cookie, p9_dirent_fn emit,
                          void *ctx)
{
    if (cookie > (uint64_t)INT64_MAX)
        return EINVAL;
    if (lseek(fd, (off_t)cookie, SEEK_SET) < 0)
        return errno;
    _Alignas(struct dirent64) char buf[16384];
    for (;;) {
        ssize_t got = getdents64(fd, buf, sizeof buf);
        if (got <= 0)
            return got < 0 ? errno : 0;
        for (ssize_t pos = 0; pos < got;) {
            const struct dirent64 *d = (const struct dirent64 *)(buf + pos);
            if (emit(ctx, d->d_name, qid_path(hd, hd->root_dev, d->d_ino), d->d_type,
                     (uint64_t)d->d_off))
                return 0;
            pos += d->d_reclen;
        }
    }
}

static int hostdir_readdir(void *be, struct p9_node *dir, void *handle, uint64_t cookie,
                           p9_dirent_fn emit, void *ctx)
{
    int fd;
    bool own;
    int e = io_fd(dir, handle, O_RDONLY | O_DIRECTORY, &fd, &own);
    if (e)
        return e;
    e = list_directory(be, fd, cookie, emit, ctx);
    if (own)
        close(fd);
    return e;
}

static int hostdir_statfs(void *be, struct p9_node *n, struct p9_statfs *out)
{
    (void)be;
    struct statfs sf;
    if (fstatfs(n->fd, &sf) < 0)
        return errno;
    uint32_t fsid_lo, fsid_hi;
    memcpy(&fsid_lo, &sf.f_fsid, sizeof fsid_lo);
    memcpy(&fsid_hi, (const char *)&sf.f_fsid + sizeof fsid_lo, sizeof fsid_hi);
    *out = (struct p9_statfs){
        .type = (uint32_t)sf.f_type,
        .bsize = (uint32_t)sf.f_bsize,
        .blocks = sf.f_blocks,
        .bfree = sf.f_bfree,
        .bavail = sf.f_bavail,
        .files = sf.f_files,
        .ffree = sf.f_ffree,
        .fsid = ((uint64_t)fsid_hi << 32) | fsid_lo,
        .namelen = (uint32_t)sf.f_namelen,
    };
    return 0;
}

static void hostdir_destroy(void *be)
{
    struct hostdir *hd = be;
    close(hd->root_fd);
    free(hd);
}

static const struct p9_backend_ops hostdir_ops = {
    .destroy = hostdir_destroy,
    .root = hostdir_root,
    .lookup = hostdir_lookup,
    .retain = hostdir_retain,
    .release = hostdir_release,
    .getattr = hostdir_getattr,
    .setattr = hostdir_setattr,
    .open = hostdir_open,
    .close = hostdir_close,
    .read = hostdir_read,
    .write = hostdir_write,
    .create = hostdir_create,
    .mkdir = hostdir_mkdir,
    .symlink = hostdir_symlink,
    .mknod = hostdir_mknod,
    .readlink = hostdir_readlink,
    .link = hostdir_link,
    .rename = hostdir_rename,
    .unlink = hostdir_unlink,
    .readdir = hostdir_readdir,
    .statfs = hostdir_statfs,
    .fsync = hostdir_fsync,
};

int hostdir_backend_new(const char *host_dir, struct p9_backend *out, char *err,
                        size_t err_size)
{
    struct hostdir *hd = malloc(sizeof *hd);
    if (hd == NULL) {
        snprintf(err, err_size, "out of memory");
        return ENOMEM;
    }
    int e = confine_open_root(host_dir, &hd->root_fd, err, err_size);
    struct stat st;
    if (!e && fstat(hd->root_fd, &st) < 0) {
        e = errno;
        snprintf(err, err_size, "cannot stat '%s': %s", host_dir, strerror(e));
        close(hd->root_fd);
    }
    if (e) {
        free(hd);
        return e;
    }
    hd->root_dev = st.st_dev;
    *out = (struct p9_backend){.ops = &hostdir_ops, .be = hd, .flags = 0};
    return 0;
}
