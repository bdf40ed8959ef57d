/* tools/lib/fs_tree_priv.h — what the directory and tar readers of fs_tree
 * share: the reader's state, tree building, path rules and the hashing of
 * contents as they stream past. Not for the tools themselves.
 */
#ifndef PLAN86_TOOLS_FS_TREE_PRIV_H
#define PLAN86_TOOLS_FS_TREE_PRIV_H

#include "tools/lib/fs_tree.h"

#define FS_READ_CHUNK (1u << 20)

struct fs_reader {
    char **excludes;               /* normalised */
    size_t nexcludes;
    const struct fs_sink *sink;
    const char *input;             /* as the user named it, for errors */
    struct fs_err *err;
    unsigned char *buf;            /* FS_READ_CHUNK bytes for contents */
    char path[FS_PATH_MAX];        /* the entry being read, relative to the root */
};

/* One regular file's contents on their way through the hash (and the sink). */
struct fs_content {
    void *md;                      /* EVP_MD_CTX */
    bool sink_open;
    uint64_t seen;
};

bool fs_content_begin(struct fs_reader *r, struct fs_content *c);
bool fs_content_feed(struct fs_reader *r, struct fs_content *c, const void *data, size_t len);
/* Sets file->digest; fails if the byte count is not file->size. */
bool fs_content_end(struct fs_reader *r, struct fs_content *c, struct fs_node *file);
/* After a failure between begin and end: tells the sink to drop what it got. */
void fs_content_abandon(struct fs_reader *r, struct fs_content *c);

/* Reads up to cap bytes of a file's contents into buf: the count, 0 at the
 * end, or -1 after reporting the failure in r->err. */
typedef long (*fs_pull_fn)(struct fs_reader *r, void *src, void *buf, size_t cap);
/* All of one file's contents, pulled through r->buf: begin, feed, end. */
bool fs_content_read(struct fs_reader *r, fs_pull_fn pull, void *src, struct fs_node *file);

/* The child `name` of dir, inserted in order (all fields zero but the name)
 * if absent. The pointer lasts until the next insertion into dir. */
struct fs_node *fs_node_child(struct fs_node *dir, const char *name, struct fs_err *e);
/* The node at `rel` (normalised) below root, or NULL. */
struct fs_node *fs_node_lookup(struct fs_node *root, const char *rel);
/* Frees a node's target and children, keeping its name. */
void fs_node_clear(struct fs_node *n);

/* "./a//b/" -> "a/b"; "" is the root. Refuses ".." and paths too long. */
bool fs_path_normalise(const char *in, char *out, size_t cap, struct fs_err *e);
bool fs_reader_excluded(const struct fs_reader *r, const char *rel);

bool fs_read_dir(struct fs_reader *r, const char *dir, struct fs_node *root);
bool fs_read_tar(struct fs_reader *r, const char *file, struct fs_node *root);

#endif
