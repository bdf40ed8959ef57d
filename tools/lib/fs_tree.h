/* tools/lib/fs_tree.h — a file tree read from a directory or a tar archive.
 *
 * Promises: one reader shared by plan86-fs2json and plan86-copy-to-sha256.
 * It turns a directory (walked without following symlinks) or a tar archive
 * (plain or compressed, anything libarchive reads) into the same tree of
 * entries: name, st_mode with its type bits, size, mtime seconds, uid, gid,
 * and per type the SHA-256 of a regular file's contents, a symlink's target
 * or a directory's children sorted by name (strcmp), so output built from it
 * is reproducible. Hard links become independent regular files with the same
 * digest. A symlink's size is its target's length whatever the input says.
 * Excluded paths (relative to the input's root) prune whole subtrees.
 * Contents are streamed once, in bounded memory, to an optional sink.
 * Everything read is treated as hostile: bad input is one error line, never
 * a crash.
 */
#ifndef PLAN86_TOOLS_FS_TREE_H
#define PLAN86_TOOLS_FS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_ERR_MAX 512
#define FS_PATH_MAX 4096    /* longest relative path, NUL included */

struct fs_err {
    char msg[FS_ERR_MAX];
};

/* Writes a message into e (control bytes shown as "?") and returns false,
 * for `return fs_fail(...)`. */
bool fs_fail(struct fs_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct fs_node {
    char *name;              /* basename; NULL for the root */
    uint32_t mode;           /* st_mode, type bits included */
    uint64_t size;
    int64_t mtime;           /* seconds */
    uint32_t uid, gid;
    uint8_t digest[32];      /* regular file: SHA-256 of the contents */
    char *target;            /* symlink: where it points */
    struct fs_node *kids;    /* directory: children, sorted by name */
    size_t nkids, cap;
};

/* Receives each regular file's contents as they are read (hard links in a
 * tar archive have no contents of their own and are not passed): begin, the
 * bytes in pieces, then end with the finished entry (size and digest set),
 * or with NULL when reading failed and what was passed must go. */
struct fs_sink {
    void *ctx;
    bool (*begin)(void *ctx, struct fs_err *e);
    bool (*data)(void *ctx, const void *buf, size_t len, struct fs_err *e);
    bool (*end)(void *ctx, const struct fs_node *file, struct fs_err *e);
};

struct fs_tree_opts {
    const char *const *excludes;  /* paths relative to the root, "./a/b" or "a/b" */
    size_t nexcludes;
    const struct fs_sink *sink;   /* NULL: only digests */
};

/* Reads `input`, a directory or a tar file, into *root (a directory node).
 * On failure *root is empty and e says what went wrong. */
bool fs_tree_read(const char *input, const struct fs_tree_opts *opts, struct fs_node *root,
                  struct fs_err *e);

void fs_tree_free(struct fs_node *root);

/* Fails when two different contents share their first 8 hex digits, the
 * v86 blob name: an image with such a pair would serve the wrong file. */
bool fs_tree_check_blob_names(const struct fs_node *root, struct fs_err *e);

static inline bool fs_node_is(const struct fs_node *n, uint32_t type)
{
    return (n->mode & 0170000u) == type;
}

#endif
