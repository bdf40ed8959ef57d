/* fs_import.c — see fs_import.h. */
#include "fs_import.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_CHUNK (64u * 1024u)
#define IMPORT_MAX_DEPTH 64

struct importer {
    const struct p9_backend *b;
    char *err;
    size_t err_size;
    char buf[IMPORT_CHUNK];
};

static int fail(struct importer *im, int e, const char *path, const char *what)
{
    snprintf(im->err, im->err_size, "--fs-import: %s %s: %s", what, path, strerror(e));
    return e;
}

/* Owner, permission bits and times of the host object onto the new node. */
static int copy_attributes(struct importer *im, struct p9_node *n, const struct stat *st)
{
    struct p9_setattr sa = {
        .valid = P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID | P9_SETATTR_ATIME |
                 P9_SETATTR_MTIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME_SET,
        .mode = st->st_mode & 07777, .uid = st->st_uid, .gid = st->st_gid,
        .atime = { (uint64_t)st->st_atim.tv_sec, (uint64_t)st->st_atim.tv_nsec },
        .mtime = { (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec },
    };
    return im->b->ops->setattr(im->b->be, n, &sa);
}

static int copy_file_data(struct importer *im, int fd, struct p9_node *n, void *handle)
{
    uint64_t off = 0;
    for (;;) {
        ssize_t got = read(fd, im->buf, sizeof im->buf);
        if (got < 0)
            return errno;
        if (got == 0)
            return 0;
        uint32_t done = 0;
        int e = im->b->ops->write(im->b->be, n, handle, off, im->buf, (uint32_t)got, &done);
        if (e)
            return e;
        if (done != (uint32_t)got)
            return ENOSPC;
        off += done;
    }
}

static int import_file(struct importer *im, int dirfd, const char *name, const char *path,
                       struct p9_node *dir, const struct p9_cred *cred, struct p9_node **out)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(im, errno, path, "cannot open");
    void *handle = NULL;
    int e = im->b->ops->create(im->b->be, dir, name, P9_DOTL_WRONLY, 0600, cred, out, &handle);
    if (!e) {
        e = copy_file_data(im, fd, *out, handle);
        if (im->b->ops->close)
            im->b->ops->close(im->b->be, *out, handle);
    }
    close(fd);
    return e ? fail(im, e, path, "cannot copy") : 0;
}

static int import_dir(struct importer *im, int dirfd, struct p9_node *dir, const char *path, int depth);

/* One entry of a host directory into `dir`. */
static int import_entry(struct importer *im, int dirfd, struct p9_node *dir, const char *name,
                        const char *path, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(im, errno, path, "cannot stat");
    struct p9_cred cred = { st.st_uid, st.st_gid };
    struct p9_node *n = NULL;
    int e = 0;
    if (S_ISREG(st.st_mode)) {
        e = import_file(im, dirfd, name, path, dir, &cred, &n);
    } else if (S_ISDIR(st.st_mode)) {
        e = im->b->ops->mkdir(im->b->be, dir, name, 0700, &cred, &n);
        if (!e) {
            int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            e = sub < 0 ? errno : import_dir(im, sub, n, path, depth + 1);
        }
    } else if (S_ISLNK(st.st_mode)) {
        ssize_t len = readlinkat(dirfd, name, im->buf, sizeof im->buf - 1);
        if (len < 0)
            return fail(im, errno, path, "cannot read the link");
        im->buf[len] = '\0';
        e = im->b->ops->symlink(im->b->be, dir, name, im->buf, &cred, &n);
    } else if (S_ISFIFO(st.st_mode)) {
        e = im->b->ops->mknod(im->b->be, dir, name, S_IFIFO | (st.st_mode & 07777), 0, 0, &cred, &n);
    } else {
        return 0;   /* devices and sockets are the host's, not the guest's */
    }
    if (!e && !S_ISLNK(st.st_mode))
        e = copy_attributes(im, n, &st);
    if (n)
        im->b->ops->release(im->b->be, n);
    return e && !im->err[0] ? fail(im, e, path, "cannot import") : e;
}

/* Imports every entry of the open host directory `dirfd` (closed here). */
static int import_dir(struct importer *im, int dirfd, struct p9_node *dir, const char *path, int depth)
{
    if (depth > IMPORT_MAX_DEPTH) {
        close(dirfd);
        return fail(im, ELOOP, path, "is nested too deep");
    }
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = errno;
        close(dirfd);
        return fail(im, e, path, "cannot list");
    }
    int e = 0;
    for (struct dirent *de; !e && (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        e = import_entry(im, dirfd, dir, de->d_name, sub, depth);
    }
    closedir(d);
    return e;
}

int fs_import_tree(const struct p9_backend *b, const char *host_dir, char *err, size_t err_size)
{
    static_assert(sizeof(((struct importer *)0)->buf) >= 4096, "symlink targets fit");
    struct importer *im = calloc(1, sizeof *im);
    if (!im) {
        snprintf(err, err_size, "--fs-import: out of memory");
        return ENOMEM;
    }
    *im = (struct importer){ .b = b, .err = err, .err_size = err_size };
    if (err_size)
        err[0] = '\0';
    int e, fd = open(host_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct p9_node *root = NULL;
    if (fd < 0)
        e = fail(im, errno, host_dir, "cannot open");
    else if ((e = b->ops->root(b->be, &root)) != 0)
        close(fd);
    else
        e = import_dir(im, fd, root, host_dir, 0);
    if (root)
        b->ops->release(b->be, root);
    if (e && err_size && !err[0])
        fail(im, e, host_dir, "cannot import");
    free(im);
    return e;
}
