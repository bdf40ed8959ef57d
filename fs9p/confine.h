/* fs9p/confine.h — host file access confined beneath one root directory.
 *
 * Promises: every function here reaches only objects beneath the root it was
 * given, whatever names a guest sends and however the tree changes between
 * calls. Objects are held as O_PATH descriptors ("path fds"); a lookup moves
 * one name at a time with openat(dir, name, O_PATH|O_NOFOLLOW), so no path
 * string is ever re-resolved and no symlink is ever followed on the host (a
 * symlink is an object of its own whose target text only the guest reads).
 * Names are single components: empty, "." , ".." or containing '/' are
 * refused (EINVAL); ".." goes through confine_parent, which stays at the root
 * and checks that the parent it finds lies beneath the root. Only regular
 * files and directories are ever opened for I/O (never a device, FIFO or
 * socket node of the shared tree). Every function returns 0 or a positive
 * errno; descriptors it hands out are close-on-exec and owned by the caller.
 */
#ifndef PLAN86_FS9P_CONFINE_H
#define PLAN86_FS9P_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Opens `host_dir` as a root path fd. On failure writes one line to err. */
int confine_open_root(const char *host_dir, int *root_fd, char *err, size_t err_size);

/* 0 if `name` is one acceptable path component, else EINVAL/ENAMETOOLONG. */
int confine_check_name(const char *name);

/* The object `name` inside directory `dir_fd`, as a new path fd. A symlink
 * yields the link itself; ENOTDIR when dir_fd is not a directory. */
int confine_lookup(int dir_fd, const char *name, int *out_fd);

/* True if both descriptors name the same object. */
bool confine_same_object(int fd_a, int fd_b);

/* The parent directory of `node_fd` as a new path fd: the root itself when
 * node_fd is the root. EACCES if the parent is not beneath the root (an
 * object moved out of the tree by someone on the host). */
int confine_parent(int root_fd, int node_fd, int *out_fd);

/* Opens the object behind path fd `node_fd` for I/O with host open(2)
 * `flags` (O_CREAT/O_EXCL are ignored). ELOOP for a symlink, ENXIO for a
 * device, FIFO or socket. */
int confine_reopen(int node_fd, int flags, int *out_fd);

/* A path fd for the object behind the open descriptor `open_fd`. */
int confine_path_of(int open_fd, int *out_fd);

/* Creates and opens the new regular file `name` in dir_fd (fails with EEXIST
 * if the name exists, whatever it is); *out_fd is open with `flags`. */
int confine_create(int dir_fd, const char *name, int flags, mode_t mode, int *out_fd);

/* Name operations inside directories (each checks its names). */
int confine_mkdir(int dir_fd, const char *name, mode_t mode);
int confine_symlink(int dir_fd, const char *name, const char *target);
/* Regular files, FIFOs and sockets only: device nodes give EPERM. */
int confine_mknod(int dir_fd, const char *name, mode_t mode);
int confine_link(int target_fd, int dir_fd, const char *name);
int confine_rename(int old_dir_fd, const char *old_name, int new_dir_fd, const char *new_name);
/* remove_dir: rmdir semantics, else unlink semantics (EISDIR on a directory). */
int confine_unlink(int dir_fd, const char *name, bool remove_dir);

/* Operations on the object behind a path fd, never following a symlink. */
int confine_stat(int node_fd, struct statx *out);
int confine_chmod(int node_fd, mode_t mode);
int confine_chown(int node_fd, uid_t uid, gid_t gid);
int confine_truncate(int node_fd, off_t size);
/* times[0] = access, times[1] = modification; UTIME_NOW/UTIME_OMIT allowed. */
int confine_utimens(int node_fd, const struct timespec times[2]);
/* Copies the target (no NUL) into buf; *len = its full length. ERANGE if it
 * is longer than cap; EINVAL if node_fd is not a symlink. */
int confine_readlink(int node_fd, char *buf, size_t cap, size_t *len);

#endif
