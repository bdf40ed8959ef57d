/* fs9p/backend_hostdir.h — the `hostdir` 9p back end: a host directory.
 *
 * Promises: the guest sees the tree beneath one host directory and nothing
 * outside it — no "..", absolute or relative symlink, or symlink swapped
 * during a walk reaches the rest of the host (fs9p/confine.h does every host
 * access). Symlinks are never followed on the host: the guest reads their
 * targets and resolves them in its own namespace. Ownership and modes are
 * the host's; the host kernel checks access against the emulator's own user
 * (P9_BACKEND_CHECK_PERMS is not set), so a chown that the host refuses
 * returns the host's errno. New objects are given to the creating guest
 * user when the host allows it (plan86 running as root), else they belong to
 * the emulator's user. Device nodes cannot be created (EPERM) and device,
 * FIFO and socket nodes are never opened on the host (ENXIO). Offsets are
 * 64-bit: sparse files and data beyond 4 GiB work.
 */
#ifndef PLAN86_FS9P_BACKEND_HOSTDIR_H
#define PLAN86_FS9P_BACKEND_HOSTDIR_H

#include <stddef.h>

#include "fs9p/backend.h"

/* Serves `host_dir`. Returns 0 and fills *out, or an errno with one line in
 * err. The back end is freed by out->ops->destroy(out->be). */
int hostdir_backend_new(const char *host_dir, struct p9_backend *out, char *err,
                        size_t err_size);

#endif
