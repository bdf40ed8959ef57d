/* fs9p/backend_mem.c — the in-memory file system (see backend_mem.h).
 *
 * Every node sits on one list owned by the file system, so destroy frees it
 * all whatever the links. A node lives while a caller holds a reference or
 * a directory entry names it. A directory holds a reference on its latest
 * parent (for ".."), dropped when the directory itself is freed. Entries of a directory are kept
 * in creation order with strictly increasing cookies; a listing resumes at
 * the first entry whose cookie is above the offset, whatever was removed.
 */
#include "fs9p/backend_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CHUNK_SIZE (64u * 1024u)
#define MAX_FILE_SIZE (1ull << 52)      /* 4 PiB: far above any test, no overflow */
#define MAX_NAME 255u
#define MAX_TARGET 4095u
#define FIRST_ENTRY_COOKIE 3u           /* 1 and 2 are "." and ".." */
#define V9FS_MAGIC 0x01021997u

/* Chunk `index` covers bytes [index * CHUNK_SIZE, +CHUNK_SIZE); only its
 * first `alloc` bytes are held (the rest reads as zeros), so a small file
 * costs what it holds. */
struct mem_chunk {
    uint64_t index;
    uint8_t *data;
    uint32_t alloc;
};

struct mem_dirent {
    char *name;
    struct p9_node *node;
    uint64_t cookie;
};

struct p9_node {
    struct mem_fs *fs;
    struct p9_node *prev, *next;        /* the file system's list of nodes */
    uint64_t refs;
    uint32_t links;
    uint64_t ino;
    uint32_t mode, uid, gid;
    uint64_t rdev;
    struct p9_timespec atime, mtime, ctime, btime;
    uint64_t size;
    uint64_t data_version;
    /* directories */
    struct p9_node *parent;
    struct mem_dirent *ents;
    size_t nents, cap_ents;
    uint64_t next_cookie;
    uint32_t subdirs;
    /* regular files */
    struct mem_chunk *chunks;
    size_t nchunks, cap_chunks;
    uint64_t data_bytes;                /* sum of the chunks' alloc */
    char *blob;                         /* contents are this blob (no chunks) until changed */
    /* symlinks */
    char *target;
};

struct mem_fs {
    struct p9_node *root;
    struct p9_node *nodes;
    uint64_t next_ino;
    uint64_t used_bytes, capacity;
    uint64_t objects, max_objects;
    p9_clock_fn clock;
    void *clock_ctx;
    struct p9_mem_blobs blobs;          /* all NULL: no blob-backed files */
};

static bool is_dir(const struct p9_node *n) { return S_ISDIR(n->mode); }

static struct p9_timespec now(struct mem_fs *fs)
{
    uint64_t ns = fs->clock(fs->clock_ctx);
    return (struct p9_timespec){ ns / 1000000000u, ns % 1000000000u };
}

static uint64_t host_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Grows a dynamic array to hold one more element. */
static int reserve(void **array, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, ncap * elem);
    if (!p)
        return ENOMEM;
    *array = p;
    *cap = ncap;
    return 0;
}

/* ---- node lifetime ---- */

static void node_free(struct p9_node *n)
{
    struct mem_fs *fs = n->fs;
    for (size_t i = 0; i < n->nchunks; i++)
        free(n->chunks[i].data);
    fs->used_bytes -= n->data_bytes;
    for (size_t i = 0; i < n->nents; i++)
        free(n->ents[i].name);
    free(n->chunks);
    free(n->ents);
    free(n->target);
    free(n->blob);
    if (n->prev)
        n->prev->next = n->next;
    else
        fs->nodes = n->next;
    if (n->next)
        n->next->prev = n->prev;
    fs->objects--;
    free(n);
}

static void node_put(struct p9_node *n);

/* Frees n if nothing refers to it any more. */
static void node_maybe_free(struct p9_node *n)
{
    if (n->refs || n->links)
        return;
    struct p9_node *parent = n->parent;
    n->parent = NULL;
    node_free(n);
    if (parent && parent != n)
        node_put(parent);
}

static void node_put(struct p9_node *n)
{
    n->refs--;
    node_maybe_free(n);
}

static struct p9_node *node_get(struct p9_node *n)
{
    n->refs++;
    return n;
}

static int node_new(struct mem_fs *fs, uint32_t mode, const struct p9_cred *cred,
                    struct p9_node **out)
{
    if (fs->objects >= fs->max_objects)
        return ENOSPC;
    struct p9_node *n = calloc(1, sizeof *n);
    if (!n)
        return ENOMEM;
    n->fs = fs;
    n->ino = fs->next_ino++;
    n->mode = mode;
    n->uid = cred->uid;
    n->gid = cred->gid;
    n->atime = n->mtime = n->ctime = n->btime = now(fs);
    n->next_cookie = FIRST_ENTRY_COOKIE;
    n->next = fs->nodes;
    if (fs->nodes)
        fs->nodes->prev = n;
    fs->nodes = n;
    fs->objects++;
    n->refs = 1;
    *out = n;
    return 0;
}

/* ---- directory entries ---- */

static struct mem_dirent *dir_find(struct p9_node *dir, const char *name)
{
    for (size_t i = 0; i < dir->nents; i++)
        if (strcmp(dir->ents[i].name, name) == 0)
            return &dir->ents[i];
    return NULL;
}

static void touch_dir(struct p9_node *dir)
{
    dir->mtime = dir->ctime = now(dir->fs);
    dir->data_version++;
}

/* Adds the entry name -> child; the entry takes a link on child. */
static int dir_add(struct p9_node *dir, const char *name, struct p9_node *child)
{
    struct mem_fs *fs = dir->fs;
    if (strlen(name) > MAX_NAME)
        return ENAMETOOLONG;
    if (fs->objects >= fs->max_objects)
        return ENOSPC;
    if (reserve((void **)&dir->ents, &dir->cap_ents, dir->nents, sizeof *dir->ents))
        return ENOMEM;
    char *copy = strdup(name);
    if (!copy)
        return ENOMEM;
    dir->ents[dir->nents++] = (struct mem_dirent){ copy, child, dir->next_cookie++ };
    fs->objects++;
    child->links++;
    child->ctime = now(fs);
    if (is_dir(child)) {
        struct p9_node *old_parent = child->parent;
        dir->subdirs++;
        child->parent = node_get(dir);
        if (old_parent)
            node_put(old_parent);
    }
    touch_dir(dir);
    return 0;
}

/* Removes the entry e from dir and drops its link. */
static void dir_remove(struct p9_node *dir, struct mem_dirent *e)
{
    struct p9_node *child = e->node;
    free(e->name);
    size_t i = (size_t)(e - dir->ents);
    memmove(e, e + 1, (dir->nents - i - 1) * sizeof *e);
    dir->nents--;
    dir->fs->objects--;
    touch_dir(dir);
    child->links--;
    child->ctime = now(dir->fs);
    if (is_dir(child))
        dir->subdirs--;
    node_maybe_free(child);
}

/* ---- file data: a sorted chunk map ---- */

static size_t chunk_slot(const struct p9_node *n, uint64_t index)
{
    size_t lo = 0, hi = n->nchunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->chunks[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct mem_chunk *chunk_find(const struct p9_node *n, uint64_t index)
{
    size_t i = chunk_slot(n, index);
    return i < n->nchunks && n->chunks[i].index == index ? &n->chunks[i] : NULL;
}

/* Room to hold `need` bytes: a power of two from 512 up to CHUNK_SIZE. */
static uint32_t chunk_alloc_for(uint32_t need)
{
    uint32_t size = 512;
    while (size < need)
        size *= 2;
    return size;
}

/* Grows c to hold its first `need` bytes (new bytes zero). */
static int chunk_grow(struct p9_node *n, struct mem_chunk *c, uint32_t need)
{
    if (need <= c->alloc)
        return 0;
    uint32_t size = chunk_alloc_for(need);
    struct mem_fs *fs = n->fs;
    if (fs->used_bytes + (size - c->alloc) > fs->capacity)
        return ENOSPC;
    uint8_t *data = realloc(c->data, size);
    if (!data)
        return ENOMEM;
    memset(data + c->alloc, 0, size - c->alloc);
    fs->used_bytes += size - c->alloc;
    n->data_bytes += size - c->alloc;
    c->data = data;
    c->alloc = size;
    return 0;
}

/* The chunk `index`, made if missing, holding at least its first `need`
 * bytes. */
static int chunk_get(struct p9_node *n, uint64_t index, uint32_t need, uint8_t **out)
{
    size_t i = chunk_slot(n, index);
    if (i == n->nchunks || n->chunks[i].index != index) {
        if (reserve((void **)&n->chunks, &n->cap_chunks, n->nchunks, sizeof *n->chunks))
            return ENOMEM;
        memmove(&n->chunks[i + 1], &n->chunks[i], (n->nchunks - i) * sizeof *n->chunks);
        n->chunks[i] = (struct mem_chunk){ index, NULL, 0 };
        n->nchunks++;
    }
    int err = chunk_grow(n, &n->chunks[i], need);
    if (err && !n->chunks[i].alloc) {           /* drop the empty chunk again */
        memmove(&n->chunks[i], &n->chunks[i + 1], (n->nchunks - i - 1) * sizeof *n->chunks);
        n->nchunks--;
    }
    *out = err ? NULL : n->chunks[i].data;
    return err;
}

static int file_write(struct p9_node *n, uint64_t off, const uint8_t *buf, uint32_t count,
                      uint32_t *done);
static void chunks_truncate(struct p9_node *n, uint64_t size);

static bool is_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Copies n's blob in (zero pieces stay holes) and makes it an ordinary
 * file; its times stay as they were. The blob must be prepared. */
static int blob_copy_in(struct p9_node *n)
{
    struct mem_fs *fs = n->fs;
    uint8_t *piece = malloc(CHUNK_SIZE);
    if (!piece)
        return ENOMEM;
    struct p9_timespec mtime = n->mtime, ctime = n->ctime;
    int err = 0;
    for (uint64_t off = 0; !err && off < n->size;) {
        uint32_t got = 0, wrote = 0;
        err = fs->blobs.read(fs->blobs.ctx, n->blob, off, piece, CHUNK_SIZE, &got);
        if (!err && !got)
            err = EIO;
        if (!err && !is_zero(piece, got))
            err = file_write(n, off, piece, got, &wrote);
        off += got;
    }
    free(piece);
    n->mtime = mtime;
    n->ctime = ctime;
    if (err) {
        uint64_t size = n->size;
        chunks_truncate(n, 0);
        n->size = size;
        return err;
    }
    free(n->blob);
    n->blob = NULL;
    return 0;
}

/* Makes n an ordinary file before a change; a file cut to nothing needs
 * no copy of its blob. */
static int blob_detach(struct p9_node *n, uint64_t new_size)
{
    if (!n->blob)
        return 0;
    if (new_size)
        return blob_copy_in(n);
    free(n->blob);
    n->blob = NULL;
    return 0;
}

/* Cuts the file to `size` bytes (a blob-backed one becomes ordinary first). */
static int file_truncate(struct p9_node *n, uint64_t size)
{
    int err = blob_detach(n, size);
    if (err)
        return err;
    chunks_truncate(n, size);
    return 0;
}

/* Cuts the chunks at `size` bytes: chunks past it go, the tail of the last
 * one is zeroed so a later extension reads zeros. */
static void chunks_truncate(struct p9_node *n, uint64_t size)
{
    size_t keep = chunk_slot(n, (size + CHUNK_SIZE - 1) / CHUNK_SIZE);
    for (size_t i = keep; i < n->nchunks; i++) {
        free(n->chunks[i].data);
        n->fs->used_bytes -= n->chunks[i].alloc;
        n->data_bytes -= n->chunks[i].alloc;
    }
    n->nchunks = keep;
    uint32_t cut = (uint32_t)(size % CHUNK_SIZE);
    const struct mem_chunk *last = cut ? chunk_find(n, size / CHUNK_SIZE) : NULL;
    if (last && cut < last->alloc)
        memset(last->data + cut, 0, last->alloc - cut);
    n->size = size;
    n->data_version++;
}

static uint32_t piece_len(uint64_t off, uint64_t left)
{
    uint32_t room = CHUNK_SIZE - (uint32_t)(off % CHUNK_SIZE);
    return left < room ? (uint32_t)left : room;
}

static void file_read(const struct p9_node *n, uint64_t off, uint8_t *buf, uint64_t count)
{
    for (uint64_t done = 0; done < count;) {
        uint32_t len = piece_len(off + done, count - done);
        uint32_t at = (uint32_t)((off + done) % CHUNK_SIZE);
        const struct mem_chunk *c = chunk_find(n, (off + done) / CHUNK_SIZE);
        uint32_t held = c && at < c->alloc ? c->alloc - at : 0;
        if (held > len)
            held = len;
        if (held)
            memcpy(buf + done, c->data + at, held);
        memset(buf + done + held, 0, len - held);
        done += len;
    }
}

static int file_write(struct p9_node *n, uint64_t off, const uint8_t *buf, uint32_t count,
                      uint32_t *done)
{
    *done = 0;
    if (off > MAX_FILE_SIZE || count > MAX_FILE_SIZE - off)
        return EFBIG;
    int err = 0;
    while (*done < count) {
        uint32_t len = piece_len(off + *done, count - *done);
        uint32_t at = (uint32_t)((off + *done) % CHUNK_SIZE);
        uint8_t *chunk;
        err = chunk_get(n, (off + *done) / CHUNK_SIZE, at + len, &chunk);
        if (err)
            break;
        memcpy(chunk + at, buf + *done, len);
        *done += len;
    }
    if (*done) {
        if (off + *done > n->size)
            n->size = off + *done;
        n->mtime = n->ctime = now(n->fs);
        n->data_version++;
        return 0;
    }
    return err;
}

/* ---- the operations table ---- */

static void mem_destroy(void *be)
{
    struct mem_fs *fs = be;
    while (fs->nodes)
        node_free(fs->nodes);
    if (fs->blobs.release)
        fs->blobs.release(fs->blobs.ctx);
    free(fs);
}

static int mem_root(void *be, struct p9_node **out)
{
    struct mem_fs *fs = be;
    *out = node_get(fs->root);
    return 0;
}

static int mem_lookup(void *be, struct p9_node *dir, const char *name, struct p9_node **out)
{
    (void)be;
    if (!is_dir(dir))
        return ENOTDIR;
    if (strcmp(name, "..") == 0) {
        *out = node_get(dir->parent ? dir->parent : dir);
        return 0;
    }
    struct mem_dirent *e = dir_find(dir, name);
    if (!e)
        return ENOENT;
    *out = node_get(e->node);
    return 0;
}

static struct p9_node *mem_retain(void *be, struct p9_node *n)
{
    (void)be;
    return node_get(n);
}

static void mem_release(void *be, struct p9_node *n)
{
    (void)be;
    node_put(n);
}

static int mem_getattr(void *be, struct p9_node *n, struct p9_attr *a)
{
    (void)be;
    *a = (struct p9_attr){
        .mode = n->mode, .uid = n->uid, .gid = n->gid,
        .nlink = is_dir(n) ? 2u + n->subdirs : n->links,
        .rdev = n->rdev, .size = n->size, .blksize = 4096,
        .blocks = n->blob ? (n->size + 511) / 512 : n->data_bytes / 512,
        .atime = n->atime, .mtime = n->mtime, .ctime = n->ctime, .btime = n->btime,
        .ino = n->ino, .data_version = n->data_version,
    };
    return 0;
}

static struct p9_timespec pick_time(struct mem_fs *fs, uint32_t valid, uint32_t set_bit,
                                    struct p9_timespec given)
{
    return valid & set_bit ? given : now(fs);
}

static int mem_setattr(void *be, struct p9_node *n, const struct p9_setattr *sa)
{
    struct mem_fs *fs = be;
    if (sa->valid & P9_SETATTR_SIZE) {
        if (is_dir(n))
            return EISDIR;
        if (!S_ISREG(n->mode))
            return EINVAL;
        if (sa->size > MAX_FILE_SIZE)
            return EFBIG;
        if (sa->size != n->size) {
            int err = file_truncate(n, sa->size);
            if (err)
                return err;
            if (!(sa->valid & P9_SETATTR_MTIME))
                n->mtime = now(fs);
        }
    }
    if (sa->valid & P9_SETATTR_MODE)
        n->mode = (n->mode & S_IFMT) | (sa->mode & 07777);
    if (sa->valid & P9_SETATTR_UID)
        n->uid = sa->uid;
    if (sa->valid & P9_SETATTR_GID)
        n->gid = sa->gid;
    if (sa->valid & P9_SETATTR_ATIME)
        n->atime = pick_time(fs, sa->valid, P9_SETATTR_ATIME_SET, sa->atime);
    if (sa->valid & P9_SETATTR_MTIME)
        n->mtime = pick_time(fs, sa->valid, P9_SETATTR_MTIME_SET, sa->mtime);
    n->ctime = now(fs);
    return 0;
}

static int mem_open(void *be, struct p9_node *n, uint32_t flags, void **handle)
{
    (void)be;
    *handle = NULL;
    if (S_ISLNK(n->mode))
        return ELOOP;
    if (is_dir(n) && (flags & P9_DOTL_ACCMODE) != P9_DOTL_RDONLY)
        return EISDIR;
    if ((flags & P9_DOTL_DIRECTORY) && !is_dir(n))
        return ENOTDIR;
    if ((flags & P9_DOTL_TRUNC) && S_ISREG(n->mode) && (flags & P9_DOTL_ACCMODE) != P9_DOTL_RDONLY
        && n->size) {
        int err = file_truncate(n, 0);
        if (err)
            return err;
        n->mtime = n->ctime = now(n->fs);
    }
    return 0;
}

static int mem_read(void *be, struct p9_node *n, void *handle, uint64_t off, void *buf,
                    uint32_t count, uint32_t *done)
{
    (void)be, (void)handle;
    *done = 0;
    if (is_dir(n))
        return EISDIR;
    if (!S_ISREG(n->mode))
        return EINVAL;
    if (off >= n->size)
        return 0;
    uint64_t left = n->size - off;
    uint32_t want = left < count ? (uint32_t)left : count;
    if (n->blob)
        return n->fs->blobs.read(n->fs->blobs.ctx, n->blob, off, buf, want, done);
    *done = want;
    file_read(n, off, buf, want);
    return 0;
}

static int mem_write(void *be, struct p9_node *n, void *handle, uint64_t off, const void *buf,
                     uint32_t count, uint32_t *done)
{
    (void)be, (void)handle;
    *done = 0;
    if (is_dir(n))
        return EISDIR;
    if (!S_ISREG(n->mode))
        return EINVAL;
    int err = blob_detach(n, n->size);
    return err ? err : file_write(n, off, buf, count, done);
}

static int mem_prepare(void *be, struct p9_node *n, p9_wake_fn wake, void *arg)
{
    struct mem_fs *fs = be;
    if (!n->blob)
        return 0;
    return fs->blobs.prepare(fs->blobs.ctx, n->blob, n->size, wake, arg);
}

/* Makes a node of the given mode and names it `name` in dir. */
static int make_named(struct mem_fs *fs, struct p9_node *dir, const char *name, uint32_t mode,
                      const struct p9_cred *cred, struct p9_node **out)
{
    if (!is_dir(dir))
        return ENOTDIR;
    if (!dir->links && dir != fs->root)
        return ENOENT;
    if (dir_find(dir, name))
        return EEXIST;
    struct p9_node *n;
    int err = node_new(fs, mode, cred, &n);
    if (err)
        return err;
    err = dir_add(dir, name, n);
    if (err) {
        node_put(n);
        return err;
    }
    *out = n;
    return 0;
}

static int mem_create(void *be, struct p9_node *dir, const char *name, uint32_t flags,
                      uint32_t mode, const struct p9_cred *cred, struct p9_node **out,
                      void **handle)
{
    (void)flags;
    *handle = NULL;
    return make_named(be, dir, name, S_IFREG | (mode & 07777), cred, out);
}

static int mem_mkdir(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                     const struct p9_cred *cred, struct p9_node **out)
{
    return make_named(be, dir, name, S_IFDIR | (mode & 07777), cred, out);
}

static int mem_symlink(void *be, struct p9_node *dir, const char *name, const char *target,
                       const struct p9_cred *cred, struct p9_node **out)
{
    size_t len = strlen(target);
    if (len > MAX_TARGET)
        return ENAMETOOLONG;
    char *copy = strdup(target);
    if (!copy)
        return ENOMEM;
    int err = make_named(be, dir, name, S_IFLNK | 0777, cred, out);
    if (err) {
        free(copy);
        return err;
    }
    (*out)->target = copy;
    (*out)->size = len;
    return 0;
}

static int mem_mknod(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                     uint32_t major, uint32_t minor, const struct p9_cred *cred,
                     struct p9_node **out)
{
    uint32_t type = mode & S_IFMT;
    if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK
        && type != S_IFREG)
        return EINVAL;
    int err = make_named(be, dir, name, type | (mode & 07777), cred, out);
    if (!err)
        (*out)->rdev = (uint64_t)major << 32 | minor;
    return err;
}

static int mem_readlink(void *be, struct p9_node *n, char *buf, size_t cap, size_t *len)
{
    (void)be;
    if (!S_ISLNK(n->mode))
        return EINVAL;
    *len = strlen(n->target);
    if (*len > cap)
        return ERANGE;
    memcpy(buf, n->target, *len);
    return 0;
}

static int mem_link(void *be, struct p9_node *dir, const char *name, struct p9_node *target)
{
    struct mem_fs *fs = be;
    if (!is_dir(dir))
        return ENOTDIR;
    if (is_dir(target))
        return EPERM;
    if (!target->links)
        return ENOENT;
    if (!dir->links && dir != fs->root)
        return ENOENT;
    if (dir_find(dir, name))
        return EEXIST;
    return dir_add(dir, name, target);
}

/* True if `dir` is `n` or lies below it. */
static bool is_within(const struct p9_node *dir, const struct p9_node *n)
{
    for (const struct p9_node *d = dir; d; d = d->parent == d ? NULL : d->parent)
        if (d == n)
            return true;
    return false;
}

/* May the existing entry `victim` be replaced by a node like `moving`? */
static int replace_allowed(const struct p9_node *moving, const struct p9_node *victim)
{
    if (is_dir(moving) && !is_dir(victim))
        return ENOTDIR;
    if (!is_dir(moving) && is_dir(victim))
        return EISDIR;
    if (is_dir(victim) && victim->nents)
        return ENOTEMPTY;
    return 0;
}

static int mem_rename(void *be, struct p9_node *olddir, const char *oldname,
                      struct p9_node *newdir, const char *newname)
{
    struct mem_fs *fs = be;
    if (!is_dir(olddir) || !is_dir(newdir))
        return ENOTDIR;
    if (!newdir->links && newdir != fs->root)
        return ENOENT;
    if (strlen(newname) > MAX_NAME)
        return ENAMETOOLONG;
    struct mem_dirent *from = dir_find(olddir, oldname);
    if (!from)
        return ENOENT;
    struct p9_node *moving = from->node;
    if (is_dir(moving) && is_within(newdir, moving))
        return EINVAL;
    struct mem_dirent *to = dir_find(newdir, newname);
    if (to && to->node == moving)
        return 0;
    if (to) {
        int err = replace_allowed(moving, to->node);
        if (err)
            return err;
    }
    node_get(moving);
    if (to)
        dir_remove(newdir, to);
    int err = dir_add(newdir, newname, moving);
    if (!err)
        dir_remove(olddir, dir_find(olddir, oldname));
    node_put(moving);
    return err;
}

static int mem_unlink(void *be, struct p9_node *dir, const char *name, uint32_t flags)
{
    (void)be;
    if (!is_dir(dir))
        return ENOTDIR;
    struct mem_dirent *e = dir_find(dir, name);
    if (!e)
        return ENOENT;
    bool want_dir = flags & P9_AT_REMOVEDIR;
    if (want_dir && !is_dir(e->node))
        return ENOTDIR;
    if (!want_dir && is_dir(e->node))
        return EISDIR;
    if (want_dir && e->node->nents)
        return ENOTEMPTY;
    dir_remove(dir, e);
    return 0;
}

static uint8_t dirent_type(uint32_t mode)
{
    return (uint8_t)((mode & S_IFMT) >> 12);   /* Linux DT_* = S_IFMT >> 12 */
}

static int mem_readdir(void *be, struct p9_node *dir, void *handle, uint64_t cookie,
                       p9_dirent_fn emit, void *ctx)
{
    (void)handle;
    struct mem_fs *fs = be;
    if (!is_dir(dir))
        return ENOTDIR;
    struct p9_node *up = dir->parent ? dir->parent : dir;
    if (cookie < 1 && emit(ctx, ".", dir->ino, dirent_type(dir->mode), 1))
        return 0;
    if (cookie < 2 && emit(ctx, "..", up->ino, dirent_type(up->mode), 2))
        return 0;
    size_t lo = 0, hi = dir->nents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dir->ents[mid].cookie <= cookie)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < dir->nents; i++) {
        const struct mem_dirent *e = &dir->ents[i];
        if (emit(ctx, e->name, e->node->ino, dirent_type(e->node->mode), e->cookie))
            break;
    }
    dir->atime = now(fs);
    return 0;
}

static int mem_statfs(void *be, struct p9_node *n, struct p9_statfs *out)
{
    (void)n;
    struct mem_fs *fs = be;
    *out = (struct p9_statfs){
        .type = V9FS_MAGIC, .bsize = 4096,
        .blocks = fs->capacity / 4096,
        .bfree = (fs->capacity - fs->used_bytes) / 4096,
        .bavail = (fs->capacity - fs->used_bytes) / 4096,
        .files = fs->max_objects, .ffree = fs->max_objects - fs->objects,
        .fsid = (uint64_t)(uintptr_t)fs, .namelen = MAX_NAME,
    };
    return 0;
}

static const struct p9_backend_ops mem_ops = {
    .destroy = mem_destroy,
    .root = mem_root,
    .lookup = mem_lookup,
    .retain = mem_retain,
    .release = mem_release,
    .getattr = mem_getattr,
    .setattr = mem_setattr,
    .open = mem_open,
    .read = mem_read,
    .write = mem_write,
    .create = mem_create,
    .mkdir = mem_mkdir,
    .symlink = mem_symlink,
    .mknod = mem_mknod,
    .readlink = mem_readlink,
    .link = mem_link,
    .rename = mem_rename,
    .unlink = mem_unlink,
    .readdir = mem_readdir,
    .statfs = mem_statfs,
    .prepare = mem_prepare,
};

int p9_mem_new(const struct p9_mem_config *cfg, struct p9_backend *out)
{
    struct mem_fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return ENOMEM;
    fs->next_ino = 1;
    fs->capacity = cfg && cfg->capacity_bytes ? cfg->capacity_bytes : 1ull << 30;
    fs->max_objects = cfg && cfg->max_objects ? cfg->max_objects : 1u << 20;
    fs->clock = cfg && cfg->clock ? cfg->clock : host_clock;
    fs->clock_ctx = cfg ? cfg->clock_ctx : NULL;
    if (cfg && cfg->blobs)
        fs->blobs = *cfg->blobs;
    const struct p9_cred root_cred = { 0, 0 };
    if (node_new(fs, S_IFDIR | 0755, &root_cred, &fs->root)) {
        free(fs);
        return ENOMEM;
    }
    *out = (struct p9_backend){ &mem_ops, fs, P9_BACKEND_CHECK_PERMS };
    return 0;
}

/* ---- building a tree from an image ---- */

bool p9_mem_valid_name(const char *name)
{
    return *name && strlen(name) <= MAX_NAME && !strchr(name, '/') && strcmp(name, ".") != 0
           && strcmp(name, "..") != 0;
}

static int check_entry(const struct mem_fs *fs, const char *name, const struct p9_mem_entry *e)
{
    uint32_t type = e->mode & S_IFMT;
    bool file = type == S_IFREG, link = type == S_IFLNK;
    if (!p9_mem_valid_name(name) || (!file && !link && type != S_IFDIR))
        return EINVAL;
    if (link != (e->target != NULL) || (e->blob && (!file || !fs->blobs.prepare)))
        return EINVAL;
    if (file && (e->blob ? e->size > MAX_FILE_SIZE : e->size != 0))
        return EINVAL;
    return 0;
}

int p9_mem_add(struct p9_backend *b, struct p9_node *dir, const char *name,
               const struct p9_mem_entry *e, struct p9_node **out)
{
    struct mem_fs *fs = b->be;
    dir = dir ? dir : fs->root;
    int err = check_entry(fs, name, e);
    char *blob = NULL;
    if (!err && e->blob && !(blob = strdup(e->blob)))
        err = ENOMEM;
    if (err)
        return err;
    const struct p9_cred cred = { e->uid, e->gid };
    struct p9_timespec dir_mtime = dir->mtime, dir_ctime = dir->ctime;
    struct p9_node *n;
    err = S_ISLNK(e->mode) ? mem_symlink(fs, dir, name, e->target, &cred, &n)
                           : make_named(fs, dir, name, e->mode & (S_IFMT | 07777), &cred, &n);
    if (err) {
        free(blob);
        return err;
    }
    dir->mtime = dir_mtime;             /* loading an image changes no times */
    dir->ctime = dir_ctime;
    n->mode = e->mode & (S_IFMT | 07777);
    n->atime = n->mtime = n->ctime = n->btime = (struct p9_timespec){ e->mtime_sec, 0 };
    if (blob) {
        n->blob = blob;
        n->size = e->size;
    }
    if (out)
        *out = n;
    else
        node_put(n);
    return 0;
}

/* ---- embedder helpers: paths from the root ---- */

/* Looks up (or with `make_dirs`, creates) each directory of `path` but the
 * last element, whose name is copied into `leaf`. Returns the parent with a
 * reference held. */
static int walk_parent(struct mem_fs *fs, const char *path, bool make_dirs,
                       struct p9_node **parent, char leaf[MAX_NAME + 1])
{
    struct p9_node *dir = node_get(fs->root);
    const struct p9_cred root_cred = { 0, 0 };
    while (*path == '/')
        path++;
    for (;;) {
        size_t len = strcspn(path, "/");
        if (len == 0 || len > MAX_NAME) {
            node_put(dir);
            return len ? ENAMETOOLONG : EINVAL;
        }
        memcpy(leaf, path, len);
        leaf[len] = 0;
        path += len;
        while (*path == '/')
            path++;
        if (!*path) {
            *parent = dir;
            return 0;
        }
        struct p9_node *next;
        int err = mem_lookup(fs, dir, leaf, &next);
        if (err == ENOENT && make_dirs)
            err = mem_mkdir(fs, dir, leaf, 0755, &root_cred, &next);
        node_put(dir);
        if (err)
            return err;
        dir = next;
    }
}

int p9_mem_create_file(struct p9_backend *b, const char *path, const void *data, size_t len)
{
    struct mem_fs *fs = b->be;
    struct p9_node *parent, *file;
    char leaf[MAX_NAME + 1];
    if (len > MAX_FILE_SIZE)
        return EFBIG;
    int err = walk_parent(fs, path, true, &parent, leaf);
    if (err)
        return err;
    err = mem_lookup(fs, parent, leaf, &file);
    if (err == ENOENT) {
        const struct p9_cred root_cred = { 0, 0 };
        err = make_named(fs, parent, leaf, S_IFREG | 0644, &root_cred, &file);
    }
    node_put(parent);
    if (err)
        return err;
    if (!S_ISREG(file->mode))
        err = is_dir(file) ? EISDIR : EINVAL;
    else
        err = file_truncate(file, 0);
    for (size_t off = 0; !err && off < len;) {
        uint32_t done, piece = piece_len(off, len - off);
        err = file_write(file, off, (const uint8_t *)data + off, piece, &done);
        off += done;
    }
    node_put(file);
    return err;
}

/* All of a regular file's contents, fetched first if it is a blob. */
static int read_whole(struct mem_fs *fs, struct p9_node *file, void **data, size_t *len)
{
    if (file->blob) {
        int err = fs->blobs.fetch_now(fs->blobs.ctx, file->blob, file->size);
        if (err)
            return err;
    }
    size_t size = (size_t)file->size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return ENOMEM;
    for (size_t off = 0; off < size;) {
        uint32_t piece = piece_len(off, size - off), done = 0;
        int err = mem_read(fs, file, NULL, off, buf + off, piece, &done);
        if (!err && !done)
            err = EIO;
        if (err) {
            free(buf);
            return err;
        }
        off += done;
    }
    *data = buf;
    *len = size;
    return 0;
}

/* The node at `path`, with a reference held. */
static int walk_path(struct mem_fs *fs, const char *path, struct p9_node **out)
{
    struct p9_node *parent;
    char leaf[MAX_NAME + 1];
    int err = walk_parent(fs, path, false, &parent, leaf);
    if (err)
        return err;
    err = mem_lookup(fs, parent, leaf, out);
    node_put(parent);
    return err;
}

int p9_mem_file_blob(struct p9_backend *b, const char *path, const char **blob, uint64_t *size)
{
    struct p9_node *file;
    int err = walk_path(b->be, path, &file);
    if (err)
        return err;
    err = !S_ISREG(file->mode) ? EINVAL : !file->blob ? ENODATA : 0;
    if (!err) {
        *blob = file->blob;
        *size = file->size;
    }
    node_put(file);   /* a directory entry keeps it (and its blob name) alive */
    return err;
}

int p9_mem_read_file(struct p9_backend *b, const char *path, void **data, size_t *len)
{
    struct mem_fs *fs = b->be;
    struct p9_node *file;
    int err = walk_path(fs, path, &file);
    if (err)
        return err;
    if (!S_ISREG(file->mode) || file->size >= SIZE_MAX)
        err = is_dir(file) ? EISDIR : S_ISREG(file->mode) ? EFBIG : EINVAL;
    else
        err = read_whole(fs, file, data, len);
    node_put(file);
    return err;
}
