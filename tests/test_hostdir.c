/* test_hostdir.c — Check tests for the hostdir 9p back end and its
 * confinement layer (fs9p/backend_hostdir.c, fs9p/confine.c).
 *
 * Each test builds a scratch tree:  T/outside/secret  (must stay untouched),
 * T/elsewhere/ (a place a host user moves things to) and T/root/ (the shared
 * directory) holding escaping symlinks, absolute and relative. The guest's
 * side is played through the back end's operations table; at the end of every
 * test the secret's content and mtime and the names beside the root are
 * checked unchanged.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs9p/backend_hostdir.h"
#include "fs9p/confine.h"

#define SECRET_TEXT "top secret\n"

struct bench {
    char top[64];
    char root[PATH_MAX];
    char outside[PATH_MAX];
    char elsewhere[PATH_MAX];
    struct timespec secret_mtime;
    struct p9_backend be;
    const struct p9_backend_ops *ops;
    struct p9_node *root_node;
};

static void host_path(const struct bench *b, const char *rel, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s", b->top, rel);
}

static void write_host_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void host_symlink(const struct bench *b, const char *target, const char *rel)
{
    char path[PATH_MAX];
    host_path(b, rel, path);
    ck_assert_int_eq(symlink(target, path), 0);
}

static void bench_open(struct bench *b)
{
    memset(b, 0, sizeof *b);
    strcpy(b->top, "/tmp/plan86-hostdir-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(b->top));
    host_path(b, "root", b->root);
    host_path(b, "outside", b->outside);
    host_path(b, "elsewhere", b->elsewhere);
    ck_assert_int_eq(mkdir(b->root, 0755), 0);
    ck_assert_int_eq(mkdir(b->outside, 0755), 0);
    ck_assert_int_eq(mkdir(b->elsewhere, 0755), 0);

    char secret[PATH_MAX];
    host_path(b, "outside/secret", secret);
    write_host_file(secret, SECRET_TEXT);
    struct timespec old[2] = {{1000000000, 123456789}, {1000000000, 123456789}};
    ck_assert_int_eq(utimensat(AT_FDCWD, secret, old, 0), 0);
    b->secret_mtime = old[1];

    host_symlink(b, b->outside, "root/abs_escape");
    host_symlink(b, "../outside", "root/rel_escape");
    host_symlink(b, secret, "root/abs_secret");
    host_symlink(b, "../outside/secret", "root/rel_secret");
    host_symlink(b, "/", "root/slash");

    char err[256];
    ck_assert_int_eq(hostdir_backend_new(b->root, &b->be, err, sizeof err), 0);
    b->ops = b->be.ops;
    ck_assert_int_eq(b->ops->root(b->be.be, &b->root_node), 0);
}

/* Names in host directory `path`, sorted and joined with spaces. */
static void list_host_dir(const char *path, char *out, size_t cap)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            strncat(out, names[i]->d_name, cap - strlen(out) - 2);
            strcat(out, " ");
        }
        free(names[i]);
    }
    free(names);
}

static void assert_outside_untouched(const struct bench *b)
{
    char secret[PATH_MAX], listing[512];
    host_path(b, "outside/secret", secret);
    struct stat st;
    ck_assert_int_eq(stat(secret, &st), 0);
    ck_assert_int_eq(st.st_mtim.tv_sec, b->secret_mtime.tv_sec);
    ck_assert_int_eq(st.st_mtim.tv_nsec, b->secret_mtime.tv_nsec);
    ck_assert_int_eq(st.st_size, (off_t)strlen(SECRET_TEXT));
    char text[64] = {0};
    FILE *f = fopen(secret, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_gt(fread(text, 1, sizeof text - 1, f), 0);
    fclose(f);
    ck_assert_str_eq(text, SECRET_TEXT);
    list_host_dir(b->outside, listing, sizeof listing);
    ck_assert_str_eq(listing, "secret ");
    list_host_dir(b->top, listing, sizeof listing);
    ck_assert_str_eq(listing, "elsewhere outside root ");
}

static void bench_close(struct bench *b)
{
    b->ops->release(b->be.be, b->root_node);
    b->ops->destroy(b->be.be);
    assert_outside_untouched(b);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->top);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- guest-side helpers through the operations table ---- */

static int walk(struct bench *b, struct p9_node *from, const char *name, struct p9_node **out)
{
    return b->ops->lookup(b->be.be, from, name, out);
}

static void drop(struct bench *b, struct p9_node *n)
{
    b->ops->release(b->be.be, n);
}

static uint32_t mode_of(struct bench *b, struct p9_node *n)
{
    struct p9_attr a;
    ck_assert_int_eq(b->ops->getattr(b->be.be, n, &a), 0);
    return a.mode;
}

static uint64_t ino_of(struct bench *b, struct p9_node *n)
{
    struct p9_attr a;
    ck_assert_int_eq(b->ops->getattr(b->be.be, n, &a), 0);
    return a.ino;
}

static const struct p9_cred guest_root = {0, 0};

/* Creates `name` in dir holding `text`; returns its node. */
static struct p9_node *make_file(struct bench *b, struct p9_node *dir, const char *name,
                                 const char *text)
{
    struct p9_node *n;
    void *h;
    ck_assert_int_eq(b->ops->create(b->be.be, dir, name, P9_DOTL_RDWR, 0644, &guest_root, &n, &h),
                     0);
    uint32_t done;
    ck_assert_int_eq(b->ops->write(b->be.be, n, h, 0, text, (uint32_t)strlen(text), &done), 0);
    ck_assert_uint_eq(done, strlen(text));
    b->ops->close(b->be.be, n, h);
    return n;
}

/* Reads up to cap-1 bytes of n from off into out (NUL-terminated). */
static int read_node(struct bench *b, struct p9_node *n, uint64_t off, char *out, size_t cap)
{
    void *h;
    int e = b->ops->open(b->be.be, n, P9_DOTL_RDONLY, &h);
    if (e)
        return e;
    uint32_t done = 0;
    e = b->ops->read(b->be.be, n, h, off, out, (uint32_t)cap - 1, &done);
    out[done] = '\0';
    b->ops->close(b->be.be, n, h);
    return e;
}

static void read_host_file(const struct bench *b, const char *rel, char *out, size_t cap)
{
    char path[PATH_MAX];
    host_path(b, rel, path);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(out, 1, cap - 1, f);
    out[got] = '\0';
    fclose(f);
}

static bool host_exists(const struct bench *b, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    host_path(b, rel, path);
    return lstat(path, &st) == 0;
}

/* ---- names ---- */

START_TEST(bad_names_are_refused)
{
    struct bench b;
    bench_open(&b);
    static const char *const bad[] = {"", ".", "../outside", "/etc", "a/b", "sub/../.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct p9_node *n;
        ck_assert_int_eq(walk(&b, b.root_node, bad[i], &n), EINVAL);
        ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, bad[i], 0755, &guest_root, &n),
                         EINVAL);
    }
    char long_name[NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    struct p9_node *n;
    ck_assert_int_eq(walk(&b, b.root_node, long_name, &n), ENAMETOOLONG);
    ck_assert_int_eq(confine_check_name("ok-name"), 0);
    bench_close(&b);
}
END_TEST

START_TEST(dotdot_stays_beneath_the_root)
{
    struct bench b;
    bench_open(&b);
    uint64_t root_ino = ino_of(&b, b.root_node);
    struct p9_node *up, *sub, *sub_up, *up_up;
    ck_assert_int_eq(walk(&b, b.root_node, "..", &up), 0);
    ck_assert_uint_eq(ino_of(&b, up), root_ino);
    ck_assert_int_eq(walk(&b, up, "..", &up_up), 0);
    ck_assert_uint_eq(ino_of(&b, up_up), root_ino);
    ck_assert_int_eq(walk(&b, up_up, "outside", &sub), ENOENT);

    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "sub", 0755, &guest_root, &sub), 0);
    ck_assert_int_eq(walk(&b, sub, "..", &sub_up), 0);
    ck_assert_uint_eq(ino_of(&b, sub_up), root_ino);
    struct p9_node *file = make_file(&b, sub, "f", "x");
    struct p9_node *none;
    ck_assert_int_eq(walk(&b, file, "..", &none), ENOTDIR);
    drop(&b, file);
    drop(&b, sub_up);
    drop(&b, sub);
    drop(&b, up_up);
    drop(&b, up);
    bench_close(&b);
}
END_TEST

/* ---- symlinks ---- */

static void check_escape_link(struct bench *b, const char *name, const char *target)
{
    struct p9_node *link, *beyond;
    ck_assert_int_eq(walk(b, b->root_node, name, &link), 0);
    ck_assert_uint_eq(mode_of(b, link) & S_IFMT, S_IFLNK);
    char text[PATH_MAX];
    size_t len;
    ck_assert_int_eq(b->ops->readlink(b->be.be, link, text, sizeof text, &len), 0);
    ck_assert_uint_eq(len, strlen(target));
    ck_assert_int_eq(memcmp(text, target, len), 0);
    ck_assert_int_eq(b->ops->readlink(b->be.be, link, text, strlen(target) - 1, &len), ERANGE);
    ck_assert_int_eq(walk(b, link, "secret", &beyond), ENOTDIR);
    ck_assert_int_eq(walk(b, link, "..", &beyond), ENOTDIR);

    void *h;
    ck_assert_int_eq(b->ops->open(b->be.be, link, P9_DOTL_RDONLY, &h), ELOOP);
    ck_assert_int_eq(b->ops->open(b->be.be, link, P9_DOTL_WRONLY | P9_DOTL_TRUNC, &h), ELOOP);
    ck_assert_int_eq(b->ops->open(b->be.be, link, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY, &h),
                     ELOOP);
    ck_assert_int_eq(b->ops->readdir(b->be.be, link, NULL, 0, NULL, NULL), ELOOP);

    struct p9_setattr sa = {.valid = P9_SETATTR_MODE, .mode = 0777};
    ck_assert_int_eq(b->ops->setattr(b->be.be, link, &sa), EOPNOTSUPP);
    sa = (struct p9_setattr){.valid = P9_SETATTR_SIZE, .size = 0};
    ck_assert_int_eq(b->ops->setattr(b->be.be, link, &sa), EINVAL);
    /* Times and owner change the link itself, never what it points to. */
    sa = (struct p9_setattr){.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET | P9_SETATTR_ATIME,
                             .mtime = {5, 6}};
    ck_assert_int_eq(b->ops->setattr(b->be.be, link, &sa), 0);
    sa = (struct p9_setattr){.valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = getuid(),
                             .gid = getgid()};
    ck_assert_int_eq(b->ops->setattr(b->be.be, link, &sa), 0);

    /* Making something by the link's name never goes through it. */
    struct p9_node *made;
    ck_assert_int_eq(b->ops->create(b->be.be, b->root_node, name, P9_DOTL_WRONLY, 0644,
                                    &guest_root, &made, &h),
                     EEXIST);
    ck_assert_int_eq(b->ops->mkdir(b->be.be, b->root_node, name, 0755, &guest_root, &made),
                     EEXIST);
    ck_assert_int_eq(b->ops->mknod(b->be.be, b->root_node, name, S_IFIFO | 0644, 0, 0,
                                   &guest_root, &made),
                     EEXIST);
    drop(b, link);
}

START_TEST(escaping_symlinks_are_never_followed)
{
    struct bench b;
    bench_open(&b);
    char secret[PATH_MAX];
    host_path(&b, "outside/secret", secret);
    check_escape_link(&b, "abs_escape", b.outside);
    check_escape_link(&b, "rel_escape", "../outside");
    check_escape_link(&b, "abs_secret", secret);
    check_escape_link(&b, "rel_secret", "../outside/secret");
    check_escape_link(&b, "slash", "/");

    /* A hard link to an escaping symlink is a link to the symlink. */
    struct p9_node *link, *copy;
    ck_assert_int_eq(walk(&b, b.root_node, "abs_secret", &link), 0);
    ck_assert_int_eq(b.ops->link(b.be.be, b.root_node, "link_copy", link), 0);
    ck_assert_int_eq(walk(&b, b.root_node, "link_copy", &copy), 0);
    ck_assert_uint_eq(mode_of(&b, copy) & S_IFMT, S_IFLNK);
    /* Renaming over an escaping symlink replaces the link. */
    struct p9_node *f = make_file(&b, b.root_node, "plain", "data");
    ck_assert_int_eq(b.ops->rename(b.be.be, b.root_node, "plain", b.root_node, "rel_secret"), 0);
    char text[64];
    read_host_file(&b, "root/rel_secret", text, sizeof text);
    ck_assert_str_eq(text, "data");
    /* Removing one removes the link. */
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "abs_escape", 0), 0);
    ck_assert(!host_exists(&b, "root/abs_escape"));
    drop(&b, f);
    drop(&b, copy);
    drop(&b, link);
    bench_close(&b);
}
END_TEST

/* A directory held by a walk is swapped for an escaping symlink before the
 * next step: the step continues in the directory that was looked up. */
START_TEST(symlink_swapped_during_a_walk)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *dir, *file, *again, *beyond;
    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "swap", 0755, &guest_root, &dir), 0);
    drop(&b, make_file(&b, dir, "secret", "inside\n"));

    char from[PATH_MAX], to[PATH_MAX];
    host_path(&b, "root/swap", from);
    host_path(&b, "root/swap.old", to);
    ck_assert_int_eq(rename(from, to), 0);
    host_symlink(&b, b.outside, "root/swap");

    ck_assert_int_eq(walk(&b, dir, "secret", &file), 0);
    char text[64];
    ck_assert_int_eq(read_node(&b, file, 0, text, sizeof text), 0);
    ck_assert_str_eq(text, "inside\n");
    void *h;
    struct p9_node *made;
    ck_assert_int_eq(b.ops->create(b.be.be, dir, "planted", P9_DOTL_WRONLY, 0644, &guest_root,
                                   &made, &h),
                     0);
    b.ops->close(b.be.be, made, h);
    ck_assert(host_exists(&b, "root/swap.old/planted"));

    /* A new walk meets the symlink and stops there. */
    ck_assert_int_eq(walk(&b, b.root_node, "swap", &again), 0);
    ck_assert_uint_eq(mode_of(&b, again) & S_IFMT, S_IFLNK);
    ck_assert_int_eq(walk(&b, again, "secret", &beyond), ENOTDIR);

    /* And the reverse: a symlink found by one step, swapped for a directory. */
    char link[PATH_MAX];
    host_path(&b, "root/swap", link);
    ck_assert_int_eq(unlink(link), 0);
    ck_assert_int_eq(mkdir(link, 0755), 0);
    ck_assert_int_eq(walk(&b, again, "secret", &beyond), ENOTDIR);

    drop(&b, again);
    drop(&b, made);
    drop(&b, file);
    drop(&b, dir);
    bench_close(&b);
}
END_TEST

/* A directory the guest holds is moved out of the tree by a host user: ".."
 * from it is refused rather than leading outside. */
START_TEST(dotdot_from_a_directory_moved_out)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *dir, *inner, *up;
    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "mover", 0755, &guest_root, &dir), 0);
    ck_assert_int_eq(b.ops->mkdir(b.be.be, dir, "inner", 0755, &guest_root, &inner), 0);
    char from[PATH_MAX], to[PATH_MAX];
    host_path(&b, "root/mover", from);
    host_path(&b, "elsewhere/mover", to);
    ck_assert_int_eq(rename(from, to), 0);
    ck_assert_int_eq(walk(&b, dir, "..", &up), EACCES);
    ck_assert_int_eq(walk(&b, inner, "..", &up), EACCES);
    drop(&b, inner);
    drop(&b, dir);
    bench_close(&b);
}
END_TEST

/* ---- file operations ---- */

START_TEST(create_write_read_rename_link_unlink)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *f = make_file(&b, b.root_node, "a", "hello");
    char text[64];
    read_host_file(&b, "root/a", text, sizeof text);
    ck_assert_str_eq(text, "hello");
    ck_assert_int_eq(read_node(&b, f, 1, text, sizeof text), 0);
    ck_assert_str_eq(text, "ello");

    void *h;
    uint32_t done;
    ck_assert_int_eq(b.ops->open(b.be.be, f, P9_DOTL_WRONLY | P9_DOTL_APPEND, &h), 0);
    ck_assert_int_eq(b.ops->write(b.be.be, f, h, 0, " world", 6, &done), 0);
    b.ops->close(b.be.be, f, h);
    read_host_file(&b, "root/a", text, sizeof text);
    ck_assert_str_eq(text, "hello world");

    struct p9_node *dup;
    ck_assert_int_eq(b.ops->create(b.be.be, b.root_node, "a", P9_DOTL_RDWR, 0644, &guest_root,
                                   &dup, &h),
                     EEXIST);
    drop(&b, make_file(&b, b.root_node, "b", "bee"));
    ck_assert_int_eq(b.ops->rename(b.be.be, b.root_node, "b", b.root_node, "a"), 0);
    read_host_file(&b, "root/a", text, sizeof text);
    ck_assert_str_eq(text, "bee");
    ck_assert(!host_exists(&b, "root/b"));
    /* The node opened before the rename still reads the replaced file. */
    ck_assert_int_eq(read_node(&b, f, 0, text, sizeof text), 0);
    ck_assert_str_eq(text, "hello world");

    struct p9_node *a;
    ck_assert_int_eq(walk(&b, b.root_node, "a", &a), 0);
    ck_assert_int_eq(b.ops->link(b.be.be, b.root_node, "hard", a), 0);
    struct p9_attr attr;
    ck_assert_int_eq(b.ops->getattr(b.be.be, a, &attr), 0);
    ck_assert_uint_eq(attr.nlink, 2);
    ck_assert_int_eq(b.ops->open(b.be.be, a, P9_DOTL_RDONLY, &h), 0);
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "a", 0), 0);
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "hard", 0), 0);
    ck_assert_int_eq(b.ops->read(b.be.be, a, h, 0, text, sizeof text - 1, &done), 0);
    text[done] = '\0';
    ck_assert_str_eq(text, "bee");
    b.ops->close(b.be.be, a, h);
    ck_assert_int_eq(b.ops->getattr(b.be.be, a, &attr), 0);
    ck_assert_uint_eq(attr.nlink, 0);

    struct p9_node *d, *none;
    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "dir", 0700, &guest_root, &d), 0);
    ck_assert_uint_eq(mode_of(&b, d), S_IFDIR | 0700);
    ck_assert_int_eq(b.ops->link(b.be.be, b.root_node, "dirlink", d), EPERM);
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "dir", 0), EISDIR);
    drop(&b, make_file(&b, b.root_node, "file", ""));
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "file", P9_AT_REMOVEDIR), ENOTDIR);
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "dir", P9_AT_REMOVEDIR), 0);
    ck_assert_int_eq(b.ops->unlink(b.be.be, b.root_node, "file", 0x1), EINVAL);
    ck_assert_int_eq(walk(&b, b.root_node, "dir", &none), ENOENT);
    drop(&b, d);
    drop(&b, a);
    drop(&b, f);
    bench_close(&b);
}
END_TEST

START_TEST(symlink_mknod_and_special_files)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *l, *fifo, *dev;
    ck_assert_int_eq(b.ops->symlink(b.be.be, b.root_node, "ln", "/etc/passwd", &guest_root, &l),
                     0);
    char path[PATH_MAX], target[PATH_MAX];
    host_path(&b, "root/ln", path);
    ssize_t n = readlink(path, target, sizeof target);
    ck_assert_int_eq(n, 11);
    ck_assert_int_eq(memcmp(target, "/etc/passwd", 11), 0);
    void *h;
    ck_assert_int_eq(b.ops->open(b.be.be, l, P9_DOTL_RDONLY, &h), ELOOP);

    ck_assert_int_eq(b.ops->mknod(b.be.be, b.root_node, "fifo", S_IFIFO | 0640, 0, 0,
                                  &guest_root, &fifo),
                     0);
    ck_assert_uint_eq(mode_of(&b, fifo), S_IFIFO | 0640);
    /* Opening a FIFO on the host would block the emulator: refused. */
    ck_assert_int_eq(b.ops->open(b.be.be, fifo, P9_DOTL_RDONLY, &h), ENXIO);
    ck_assert_int_eq(b.ops->mknod(b.be.be, b.root_node, "sda", S_IFBLK | 0600, 8, 0,
                                  &guest_root, &dev),
                     EPERM);
    ck_assert_int_eq(b.ops->mknod(b.be.be, b.root_node, "null", S_IFCHR | 0666, 1, 3,
                                  &guest_root, &dev),
                     EPERM);
    ck_assert(!host_exists(&b, "root/sda"));
    ck_assert(!host_exists(&b, "root/null"));
    /* A device node placed by the host (where it may) is never opened. */
    char null_path[PATH_MAX];
    host_path(&b, "root/hostnull", null_path);
    if (mknod(null_path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        ck_assert_int_eq(walk(&b, b.root_node, "hostnull", &dev), 0);
        ck_assert_int_eq(b.ops->open(b.be.be, dev, P9_DOTL_RDWR, &h), ENXIO);
        drop(&b, dev);
    }
    drop(&b, fifo);
    drop(&b, l);
    bench_close(&b);
}
END_TEST

START_TEST(setattr_times_mode_size_and_statfs)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *f = make_file(&b, b.root_node, "t", "0123456789");
    struct p9_setattr sa = {
        .valid = P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME |
                 P9_SETATTR_MTIME_SET | P9_SETATTR_MODE | P9_SETATTR_SIZE,
        .mode = 0600,
        .size = 4,
        .atime = {1234567890, 111222333},
        .mtime = {1500000000, 987654321},
    };
    ck_assert_int_eq(b.ops->setattr(b.be.be, f, &sa), 0);
    char path[PATH_MAX];
    host_path(&b, "root/t", path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, 1234567890);
    ck_assert_int_eq(st.st_atim.tv_nsec, 111222333);
    ck_assert_int_eq(st.st_mtim.tv_sec, 1500000000);
    ck_assert_int_eq(st.st_mtim.tv_nsec, 987654321);
    ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
    ck_assert_int_eq(st.st_size, 4);

    struct p9_attr a;
    ck_assert_int_eq(b.ops->getattr(b.be.be, f, &a), 0);
    ck_assert_uint_eq(a.mtime.sec, 1500000000);
    ck_assert_uint_eq(a.mtime.nsec, 987654321);
    ck_assert_uint_eq(a.ino, st.st_ino);
    ck_assert_uint_eq(a.uid, st.st_uid);
    ck_assert_uint_eq(a.size, 4);

    /* "Now" when the time is not given. */
    sa = (struct p9_setattr){.valid = P9_SETATTR_MTIME};
    ck_assert_int_eq(b.ops->setattr(b.be.be, f, &sa), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_mtim.tv_sec, 1500000000);
    ck_assert_int_eq(st.st_atim.tv_sec, 1234567890);

    sa = (struct p9_setattr){.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
                             .mtime = {1, 1000000000}};
    ck_assert_int_eq(b.ops->setattr(b.be.be, f, &sa), EINVAL);
    sa = (struct p9_setattr){.valid = P9_SETATTR_SIZE, .size = UINT64_MAX};
    ck_assert_int_eq(b.ops->setattr(b.be.be, f, &sa), EFBIG);

    struct p9_statfs sf;
    ck_assert_int_eq(b.ops->statfs(b.be.be, f, &sf), 0);
    ck_assert_uint_gt(sf.bsize, 0);
    ck_assert_uint_gt(sf.namelen, 0);
    ck_assert_int_eq(b.ops->fsync(b.be.be, f, NULL, 0), 0);
    drop(&b, f);
    bench_close(&b);
}
END_TEST

START_TEST(sparse_write_beyond_4gib)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *f = make_file(&b, b.root_node, "sparse", "head");
    const uint64_t far = (5ull << 30) + 3;
    void *h;
    uint32_t done;
    ck_assert_int_eq(b.ops->open(b.be.be, f, P9_DOTL_RDWR, &h), 0);
    ck_assert_int_eq(b.ops->write(b.be.be, f, h, far, "tail", 4, &done), 0);
    ck_assert_uint_eq(done, 4);
    char text[16] = {0};
    ck_assert_int_eq(b.ops->read(b.be.be, f, h, far - 2, text, 8, &done), 0);
    ck_assert_uint_eq(done, 6);
    ck_assert_int_eq(memcmp(text, "\0\0tail", 6), 0);
    ck_assert_int_eq(b.ops->read(b.be.be, f, h, far + 4, text, 8, &done), 0);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(b.ops->write(b.be.be, f, h, UINT64_MAX - 1, "x", 1, &done), EFBIG);
    ck_assert_int_eq(b.ops->read(b.be.be, f, h, UINT64_MAX, text, 1, &done), EINVAL);
    b.ops->close(b.be.be, f, h);

    struct p9_attr a;
    ck_assert_int_eq(b.ops->getattr(b.be.be, f, &a), 0);
    ck_assert_uint_eq(a.size, far + 4);
    ck_assert_uint_lt(a.blocks * 512, 1u << 20);
    char path[PATH_MAX];
    host_path(&b, "root/sparse", path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)(far + 4));
    ck_assert_int_eq(b.ops->open(b.be.be, f, 3, &h), EINVAL);
    drop(&b, f);
    bench_close(&b);
}
END_TEST

/* Ownership is the host's: new objects go to the guest user only where the
 * host allows it (root), and a chown the host refuses returns its errno. */
START_TEST(ownership_is_the_hosts)
{
    struct bench b;
    bench_open(&b);
    const struct p9_cred user = {4242, 4243};
    bool privileged = geteuid() == 0;
    struct p9_node *d, *l;
    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "home", 0755, &user, &d), 0);
    ck_assert_int_eq(b.ops->symlink(b.be.be, b.root_node, "ln", "home", &user, &l), 0);
    struct p9_attr a;
    ck_assert_int_eq(b.ops->getattr(b.be.be, d, &a), 0);
    ck_assert_uint_eq(a.uid, privileged ? 4242 : getuid());
    ck_assert_uint_eq(a.gid, privileged ? 4243 : getgid());
    ck_assert_int_eq(b.ops->getattr(b.be.be, l, &a), 0);
    ck_assert_uint_eq(a.uid, privileged ? 4242 : getuid());

    struct p9_setattr sa = {.valid = P9_SETATTR_UID, .uid = 4244};
    ck_assert_int_eq(b.ops->setattr(b.be.be, d, &sa), privileged ? 0 : EPERM);
    char path[PATH_MAX];
    host_path(&b, "root/home", path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_uid, privileged ? 4244 : getuid());
    drop(&b, l);
    drop(&b, d);
    bench_close(&b);
}
END_TEST

/* ---- readdir ---- */

struct listing {
    char seen[64][16];
    int count;
    int take;          /* entries to take before stopping this call */
    uint64_t resume;   /* cookie after the last entry taken */
};

static int collect_entry(void *ctx, const char *name, uint64_t ino, uint8_t type,
                         uint64_t next_cookie)
{
    struct listing *l = ctx;
    (void)ino;
    (void)type;
    if (l->take == 0 || l->count == 64)
        return 1;
    snprintf(l->seen[l->count++], sizeof l->seen[0], "%s", name);
    l->take--;
    l->resume = next_cookie;
    return 0;
}

START_TEST(readdir_resumes_from_cookies)
{
    struct bench b;
    bench_open(&b);
    struct p9_node *d;
    ck_assert_int_eq(b.ops->mkdir(b.be.be, b.root_node, "many", 0755, &guest_root, &d), 0);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%02d", i);
        drop(&b, make_file(&b, d, name, ""));
    }
    void *h;
    ck_assert_int_eq(b.ops->open(b.be.be, d, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY, &h), 0);
    struct listing l = {.count = 0};
    for (int calls = 0; calls < 100; calls++) {
        int before = l.count;
        l.take = 7;
        ck_assert_int_eq(b.ops->readdir(b.be.be, d, h, l.resume, collect_entry, &l), 0);
        if (l.count == before)
            break;
    }
    b.ops->close(b.be.be, d, h);
    ck_assert_int_eq(l.count, 42);
    int found[42] = {0};
    for (int i = 0; i < l.count; i++) {
        int k;
        if (strcmp(l.seen[i], ".") == 0)
            k = 40;
        else if (strcmp(l.seen[i], "..") == 0)
            k = 41;
        else
            ck_assert_int_eq(sscanf(l.seen[i], "f%d", &k), 1);
        found[k]++;
    }
    for (int k = 0; k < 42; k++)
        ck_assert_int_eq(found[k], 1);
    ck_assert_int_eq(b.ops->readdir(b.be.be, d, NULL, UINT64_MAX, collect_entry, &l), EINVAL);
    drop(&b, d);
    bench_close(&b);
}
END_TEST

START_TEST(missing_root_is_a_clear_error)
{
    struct p9_backend be;
    char err[256] = "";
    ck_assert_int_eq(hostdir_backend_new("/nonexistent/plan86-root", &be, err, sizeof err), ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/plan86-root"));
}
END_TEST

static Suite *hostdir_suite(void)
{
    Suite *s = suite_create("hostdir");
    TCase *tc = tcase_create("hostdir");
    tcase_add_test(tc, bad_names_are_refused);
    tcase_add_test(tc, dotdot_stays_beneath_the_root);
    tcase_add_test(tc, escaping_symlinks_are_never_followed);
    tcase_add_test(tc, symlink_swapped_during_a_walk);
    tcase_add_test(tc, dotdot_from_a_directory_moved_out);
    tcase_add_test(tc, create_write_read_rename_link_unlink);
    tcase_add_test(tc, symlink_mknod_and_special_files);
    tcase_add_test(tc, setattr_times_mode_size_and_statfs);
    tcase_add_test(tc, sparse_write_beyond_4gib);
    tcase_add_test(tc, ownership_is_the_hosts);
    tcase_add_test(tc, readdir_resumes_from_cookies);
    tcase_add_test(tc, missing_root_is_a_clear_error);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostdir_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
