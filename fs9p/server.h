/* fs9p/server.h — the 9P2000.L server: request frames in, reply frames out.
 *
 * Promises: every request gets exactly one reply (a malformed, truncated or
 * unknown one an Rlerror; a flushed one Rlerror EINTR before its Rflush).
 * The server keeps the fid table, builds qids (QT bits from the file type,
 * path = the back end's stable ino), negotiates msize down to the
 * transport's cap, resumes readdir at back-end cookies, serves POSIX byte-
 * range locks itself, checks access against the attaching uid when the back
 * end stores ownership (9p carries no group list: the attaching uid also
 * stands for the group class), and roots each attach at its `aname`
 * subdirectory (".." never climbs above it). Tremove and Trename act only
 * while the fid's remembered name still leads to its file (else ESTALE).
 * It knows nothing of virtio or guest memory.
 *
 * Two ways to drive it (from one thread, the guest's):
 *  - p9_server_handle: synchronous; for back ends that never wait.
 *  - p9_server_submit + a completion callback: a request whose back end must
 *    wait (backend `prepare` returned P9_PENDING) is parked and completed
 *    later; others complete before submit returns. Completions may come out
 *    of order. The callback must copy the reply out and must not call back
 *    into the server.
 */
#ifndef PLAN86_FS9P_SERVER_H
#define PLAN86_FS9P_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "fs9p/backend.h"

#define P9_DEFAULT_MAX_MSIZE (512u * 1024u)
#define P9_MIN_MSIZE 4096u
#define P9_MIN_REPLY 11u           /* an Rlerror: the smallest answer */

struct p9_server;

struct p9_server_config {
    struct p9_backend backend;     /* the server owns it from p9_server_new on */
    uint32_t max_msize;            /* the transport's largest message; 0 = default */
};

/* Returns NULL only when out of memory (then the back end is destroyed). */
struct p9_server *p9_server_new(const struct p9_server_config *cfg);
/* Releases every fid, completes parked requests with EINTR, destroys the
 * back end. */
void p9_server_free(struct p9_server *srv);

/* The negotiated msize (the cap until a Tversion). */
uint32_t p9_server_msize(const struct p9_server *srv);

/* Handles one request frame; writes the reply into reply[0..cap) and returns
 * its length. Returns 0 only when cap < P9_MIN_REPLY. A request that would
 * have to wait is answered Rlerror EAGAIN here (use submit for such back
 * ends). */
size_t p9_server_handle(struct p9_server *srv, const uint8_t *req, size_t len,
                        uint8_t *reply, size_t cap);

/* Completion of a submitted request: `reply` is valid during the call. */
typedef void (*p9_complete_fn)(void *ctx, uint64_t token, const uint8_t *reply, size_t len);

void p9_server_set_completion(struct p9_server *srv, p9_complete_fn fn, void *ctx);

/* Handles one request asynchronously; the reply (at most reply_cap bytes)
 * reaches the completion callback with `token`, now or later. The frame is
 * copied if the request has to wait. */
void p9_server_submit(struct p9_server *srv, const uint8_t *req, size_t len,
                      size_t reply_cap, uint64_t token);

/* Forgets the session (as a new Tversion does): parked requests complete
 * with EINTR, every fid is clunked, locks dropped, msize back to the cap. */
void p9_server_reset(struct p9_server *srv);

/* Transport adapters with the shape of virtio/virtio_9p.h's handler
 * (submit(ctx, req, len, token), reset(ctx)); ctx is the server. Replies go
 * to the completion callback, at most msize bytes. */
void p9_server_transport_submit(void *srv, const uint8_t *req, size_t len, uint32_t token);
void p9_server_transport_reset(void *srv);

/* Requests parked waiting on the back end. */
size_t p9_server_pending(const struct p9_server *srv);

#endif
