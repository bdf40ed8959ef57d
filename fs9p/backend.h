/* fs9p/backend.h — the operations table every 9p file-system back end fills.
 *
 * Promises: the server (fs9p/server.c) speaks 9P2000.L to the guest and asks
 * a back end only for file-system work through `struct p9_backend_ops`. A back
 * end never sees wire frames, fids or tags. Every operation returns 0 or a
 * positive Linux errno (the host's errno values: this project runs on Linux).
 *
 * STABILITY: other engineers implement this table (hostdir, json). Changes
 * to it are additive only: new fields go at the end of a struct, existing
 * fields keep their meaning, and a NULL optional operation keeps the
 * documented fallback.
 *
 * Nodes: a `struct p9_node *` is an opaque, back-end defined handle to one
 * file-system object (file, directory, symlink, device, ...). Every operation
 * that hands out a node gives the caller one reference; the caller drops it
 * with `release`, and `retain` adds one. A node stays valid (operations on it
 * may fail with ESTALE or ENOENT) until its last reference is dropped, even
 * if the object is unlinked meanwhile. `attr.ino` is the qid path: stable for
 * the life of the object and distinct between live objects.
 *
 * Open files: `open`/`create` may return a per-open handle (`void *`, may be
 * NULL) that comes back in read/write/readdir/fsync and is closed with
 * `close`. Names passed in are one path element: never empty, never
 * containing '/', never "." ; ".." only in `lookup` (the server never walks
 * above the attach root, so ".." from a back end's root may return the root).
 *
 * Threading: all calls come from the guest thread. A back end that must wait
 * (network) implements `prepare` and finishes the wait on its own thread,
 * then calls `wake` from the guest thread (via the run loop's queue), never
 * from inside one of its own operations.
 */
#ifndef PLAN86_FS9P_BACKEND_H
#define PLAN86_FS9P_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct p9_node;

/* 9P2000.L open/create flags (Tlopen, Tlcreate): the wire values, equal to
 * Linux x86 O_* values. Back ends get them exactly as the guest sent them. */
enum {
    P9_DOTL_RDONLY = 00000000,
    P9_DOTL_WRONLY = 00000001,
    P9_DOTL_RDWR = 00000002,
    P9_DOTL_ACCMODE = 00000003,
    P9_DOTL_CREATE = 00000100,
    P9_DOTL_EXCL = 00000200,
    P9_DOTL_NOCTTY = 00000400,
    P9_DOTL_TRUNC = 00001000,
    P9_DOTL_APPEND = 00002000,
    P9_DOTL_NONBLOCK = 00004000,
    P9_DOTL_DSYNC = 00010000,
    P9_DOTL_DIRECT = 00040000,
    P9_DOTL_LARGEFILE = 00100000,
    P9_DOTL_DIRECTORY = 00200000,
    P9_DOTL_NOFOLLOW = 00400000,
    P9_DOTL_NOATIME = 01000000,
    P9_DOTL_CLOEXEC = 02000000,
    P9_DOTL_SYNC = 04000000,
};

/* Tsetattr valid bits (wire values). ATIME without ATIME_SET means "now"
 * (the back end reads its own clock); with ATIME_SET the given time. */
enum {
    P9_SETATTR_MODE = 0x001,
    P9_SETATTR_UID = 0x002,
    P9_SETATTR_GID = 0x004,
    P9_SETATTR_SIZE = 0x008,
    P9_SETATTR_ATIME = 0x010,
    P9_SETATTR_MTIME = 0x020,
    P9_SETATTR_CTIME = 0x040,
    P9_SETATTR_ATIME_SET = 0x080,
    P9_SETATTR_MTIME_SET = 0x100,
};

/* Tunlinkat flag: remove a directory (Linux AT_REMOVEDIR). */
#define P9_AT_REMOVEDIR 0x200

/* Who asks: the uid given at Tattach (and the gid given in Tlcreate etc.). */
struct p9_cred {
    uint32_t uid;
    uint32_t gid;
};

struct p9_timespec {
    uint64_t sec;
    uint64_t nsec;
};

/* What getattr reports (the Rgetattr body minus the qid, which the server
 * builds from mode and ino). `mode` holds the S_IF* type bits. */
struct p9_attr {
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t nlink;
    uint64_t rdev;
    uint64_t size;
    uint64_t blksize;
    uint64_t blocks;     /* 512-byte blocks actually allocated */
    struct p9_timespec atime, mtime, ctime, btime;
    uint64_t ino;        /* qid path */
    uint64_t gen;
    uint64_t data_version;
};

/* A Tsetattr request: `valid` holds P9_SETATTR_* bits. */
struct p9_setattr {
    uint32_t valid;
    uint32_t mode;       /* permission bits only (the type never changes) */
    uint32_t uid;
    uint32_t gid;
    uint64_t size;
    struct p9_timespec atime, mtime;
};

struct p9_statfs {
    uint32_t type;       /* f_type magic; 0x01021997 (V9FS_MAGIC) if unsure */
    uint32_t bsize;
    uint64_t blocks, bfree, bavail;
    uint64_t files, ffree;
    uint64_t fsid;
    uint32_t namelen;
};

/* readdir calls this once per entry, in cookie order. `next_cookie` is the
 * offset that resumes *after* this entry; `type` is a DT_* value. Return 0 to
 * go on, nonzero to stop (the entry was NOT taken and must come again at the
 * next call from the previous cookie). */
typedef int (*p9_dirent_fn)(void *ctx, const char *name, uint64_t ino,
                            uint8_t type, uint64_t next_cookie);

/* Completion of a `prepare` that had to wait: err 0 or a Linux errno. */
typedef void (*p9_wake_fn)(void *arg, int err);

/* Returned by `prepare` when it will call `wake` later. Never an errno. */
#define P9_PENDING (-1)

struct p9_backend_ops {
    /* Frees the back end (after the server released every node); first
     * calls every outstanding `prepare` wake with an errno (ECANCELED). */
    void (*destroy)(void *be);

    /* The root of the tree. */
    int (*root)(void *be, struct p9_node **out);
    /* One path element below `dir` (or ".."). ENOTDIR if dir is not one. */
    int (*lookup)(void *be, struct p9_node *dir, const char *name, struct p9_node **out);
    struct p9_node *(*retain)(void *be, struct p9_node *n);
    void (*release)(void *be, struct p9_node *n);

    int (*getattr)(void *be, struct p9_node *n, struct p9_attr *out);
    int (*setattr)(void *be, struct p9_node *n, const struct p9_setattr *sa);

    /* Opens n with P9_DOTL_* flags (TRUNC included). *handle may be NULL. */
    int (*open)(void *be, struct p9_node *n, uint32_t flags, void **handle);
    /* Optional (NULL: nothing to close). */
    void (*close)(void *be, struct p9_node *n, void *handle);
    /* Reads up to count bytes at off; *done = bytes read (0 at end). */
    int (*read)(void *be, struct p9_node *n, void *handle, uint64_t off,
                void *buf, uint32_t count, uint32_t *done);
    /* Writes count bytes at off (off is ignored when opened with APPEND:
     * the data goes to the end); *done = bytes written. */
    int (*write)(void *be, struct p9_node *n, void *handle, uint64_t off,
                 const void *buf, uint32_t count, uint32_t *done);

    /* Creates and opens a regular file `name` in dir, owned by cred, with
     * permission bits `mode`; EEXIST if it exists. */
    int (*create)(void *be, struct p9_node *dir, const char *name, uint32_t flags,
                  uint32_t mode, const struct p9_cred *cred,
                  struct p9_node **out, void **handle);
    int (*mkdir)(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                 const struct p9_cred *cred, struct p9_node **out);
    int (*symlink)(void *be, struct p9_node *dir, const char *name, const char *target,
                   const struct p9_cred *cred, struct p9_node **out);
    /* mode includes the S_IF* type (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK). */
    int (*mknod)(void *be, struct p9_node *dir, const char *name, uint32_t mode,
                 uint32_t major, uint32_t minor, const struct p9_cred *cred,
                 struct p9_node **out);
    /* Copies the target (no NUL) into buf; *len = its full length. ERANGE if
     * it does not fit in cap. EINVAL if n is not a symlink. */
    int (*readlink)(void *be, struct p9_node *n, char *buf, size_t cap, size_t *len);
    /* A new name `name` in dir for the existing non-directory `target`. */
    int (*link)(void *be, struct p9_node *dir, const char *name, struct p9_node *target);
    /* POSIX rename(2) semantics, replacing an existing target if allowed. */
    int (*rename)(void *be, struct p9_node *olddir, const char *oldname,
                  struct p9_node *newdir, const char *newname);
    /* Removes a name; flags may hold P9_AT_REMOVEDIR (then only an empty
     * directory, else ENOTDIR; without it a directory gives EISDIR). */
    int (*unlink)(void *be, struct p9_node *dir, const char *name, uint32_t flags);

    /* Entries of the opened directory from `cookie` (0 = start), "." and ".."
     * included. Cookies stay valid while entries are added or removed: an
     * entry present for the whole listing is returned exactly once. */
    int (*readdir)(void *be, struct p9_node *dir, void *handle, uint64_t cookie,
                   p9_dirent_fn emit, void *ctx);
    int (*statfs)(void *be, struct p9_node *n, struct p9_statfs *out);
    /* Optional (NULL: success). */
    int (*fsync)(void *be, struct p9_node *n, void *handle, int datasync);

    /* Optional (NULL: always ready). Called before read, readdir and write
     * of n, before an open for reading without TRUNC, and before a setattr
     * that sets a nonzero size.
     * Returns 0 when n's data is available now, an errno on failure, or
     * P9_PENDING after arranging for wake(arg, err) to be called later
     * (exactly once); the server then parks the request and re-runs it
     * (after wake(arg, 0) the next prepare of n normally returns 0 or an
     * errno; P9_PENDING again, e.g. when a cache dropped the data meanwhile,
     * parks the request once more). */
    int (*prepare)(void *be, struct p9_node *n, p9_wake_fn wake, void *arg);
};

/* Back-end capability flags (struct p9_backend.flags). */
enum {
    /* Ownership and mode bits are the guest's: the server checks access
     * against the attaching uid (mem, json). Without it the host decides
     * (hostdir: the host kernel checks against the emulator's own user). */
    P9_BACKEND_CHECK_PERMS = 1u << 0,
};

/* One back end instance: its table and its private state. */
struct p9_backend {
    const struct p9_backend_ops *ops;
    void *be;
    uint32_t flags;
};

#endif
