/* tools/lib/fs_tree_tar.c — fs_tree from a tar archive.
 *
 * Promises: any tar flavour libarchive reads (ustar, pax, GNU), plain or
 * compressed. Member names are normalised ("./a/b/" is "a/b"); a ".."
 * component refuses the archive. Directories a member needs but the archive
 * lacks are made with mode 0755. A later member of the same name replaces
 * the earlier one (a directory keeps its children). A hard link copies the
 * member it names, which must come before it. Devices, fifos and sockets
 * become entries without contents.
 */
#include "tools/lib/fs_tree_priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool archive_failed(struct fs_reader *r, struct archive *a, const char *what)
{
    const char *why = archive_error_string(a);
    return fs_fail(r->err, "%s: %s", what, why ? why : "unreadable tar archive");
}

/* The directory that holds r->path, made if missing; *base is the last name. */
static struct fs_node *parent_of(struct fs_reader *r, struct fs_node *root, const char **base)
{
    static const uint32_t implicit_dir = S_IFDIR | 0755;
    char *p = r->path;
    struct fs_node *cur = root;
    for (char *slash; (slash = strchr(p, '/')); p = slash + 1) {
        *slash = '\0';
        struct fs_node *n = fs_node_child(cur, p, r->err);
        if (n && n->mode == 0)
            n->mode = implicit_dir;
        if (n && !fs_node_is(n, S_IFDIR))
            fs_fail(r->err, "%s: a parent of this member is not a directory", r->path);
        *slash = '/';
        if (!n || !fs_node_is(n, S_IFDIR))
            return NULL;
        cur = n;
    }
    *base = p;
    return cur;
}

static bool take_meta(struct fs_reader *r, struct archive_entry *ent, struct fs_node *n)
{
    la_int64_t uid = archive_entry_uid(ent), gid = archive_entry_gid(ent);
    la_int64_t size = archive_entry_size(ent);
    if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
        return fs_fail(r->err, "%s: uid or gid out of range", r->path);
    if (size < 0)
        return fs_fail(r->err, "%s: negative size", r->path);
    n->mode = archive_entry_filetype(ent) | (archive_entry_perm(ent) & 07777);
    n->size = (uint64_t)size;
    n->mtime = (int64_t)archive_entry_mtime(ent);
    n->uid = (uint32_t)uid;
    n->gid = (uint32_t)gid;
    return true;
}

static long pull_archive(struct fs_reader *r, void *src, void *buf, size_t cap)
{
    la_ssize_t got = archive_read_data(src, buf, cap);
    if (got < 0)
        archive_failed(r, src, r->path);
    return got < 0 ? -1 : (long)got;
}

static bool read_contents(struct fs_reader *r, struct archive *a, struct fs_node *file)
{
    return fs_content_read(r, pull_archive, a, file);
}

/* A hard link member: a copy of the entry it names, under its own name. */
static bool copy_linked(struct fs_reader *r, struct fs_node *root, const char *link,
                        struct fs_node *n)
{
    char rel[FS_PATH_MAX];
    if (!fs_path_normalise(link, rel, sizeof rel, r->err))
        return false;
    const struct fs_node *src = fs_node_lookup(root, rel);
    if (!src || src == n || fs_node_is(src, S_IFDIR) || src->mode == 0)
        return fs_fail(r->err, "%s: hard link to %s, which is not an earlier non-directory member",
                       r->path, rel);
    char *target = src->target ? strdup(src->target) : NULL;
    if (src->target && !target)
        return fs_fail(r->err, "out of memory");
    n->mode = src->mode;
    n->size = src->size;
    memcpy(n->digest, src->digest, sizeof n->digest);
    n->target = target;
    return true;
}

static bool take_symlink(struct fs_reader *r, struct archive_entry *ent, struct fs_node *n)
{
    const char *target = archive_entry_symlink(ent);
    if (!target)
        return fs_fail(r->err, "%s: symlink without a target", r->path);
    if (!(n->target = strdup(target)))
        return fs_fail(r->err, "out of memory");
    n->size = strlen(target);
    return true;
}

/* Fills n from the member; r->path is its normalised name. */
static bool take_member(struct fs_reader *r, struct archive *a, struct archive_entry *ent,
                        struct fs_node *root, struct fs_node *n)
{
    bool keep_kids = fs_node_is(n, S_IFDIR) && archive_entry_filetype(ent) == AE_IFDIR;
    if (!keep_kids)
        fs_node_clear(n);
    if (!take_meta(r, ent, n))
        return false;
    const char *link = archive_entry_hardlink(ent);
    if (link)
        return copy_linked(r, root, link, n);
    switch (archive_entry_filetype(ent)) {
    case AE_IFREG:
        return read_contents(r, a, n);
    case AE_IFLNK:
        return take_symlink(r, ent, n);
    case AE_IFDIR: /* no contents of their own: size 0 */
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
        n->size = 0;
        return true;
    default:
        return fs_fail(r->err, "%s: tar member of unknown type", r->path);
    }
}

static bool add_member(struct fs_reader *r, struct archive *a, struct archive_entry *ent,
                       struct fs_node *root)
{
    const char *name = archive_entry_pathname(ent);
    if (!name)
        return fs_fail(r->err, "a tar member has a name that cannot be read");
    if (!fs_path_normalise(name, r->path, sizeof r->path, r->err))
        return false;
    if (!r->path[0] || fs_reader_excluded(r, r->path))
        return true;
    const char *base;
    struct fs_node *dir = parent_of(r, root, &base);
    struct fs_node *n = dir ? fs_node_child(dir, base, r->err) : NULL;
    return n && take_member(r, a, ent, root, n);
}

static bool read_members(struct fs_reader *r, struct archive *a, const char *file,
                         struct fs_node *root)
{
    for (;;) {
        struct archive_entry *ent;
        int rc = archive_read_next_header(a, &ent);
        if (rc == ARCHIVE_EOF)
            return true;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            return archive_failed(r, a, file);
        if (!add_member(r, a, ent, root))
            return false;
    }
}

bool fs_read_tar(struct fs_reader *r, const char *file, struct fs_node *root)
{
    struct archive *a = archive_read_new();
    if (!a)
        return fs_fail(r->err, "out of memory");
    bool ok = archive_read_support_filter_all(a) >= ARCHIVE_WARN &&
              archive_read_support_format_tar(a) >= ARCHIVE_WARN;
    if (!ok)
        archive_failed(r, a, file);
    else if (archive_read_open_filename(a, file, 64 * 1024) != ARCHIVE_OK)
        ok = fs_fail(r->err, "%s: not a directory or a readable tar archive (%s)", file,
                     archive_error_string(a) ? archive_error_string(a) : "unknown format");
    else
        ok = read_members(r, a, file, root);
    archive_read_free(a);
    return ok;
}
