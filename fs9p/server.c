/* fs9p/server.c — the 9P2000.L server (see server.h for its promises).
 *
 * A request is decoded into a p9_msg, dispatched through a table indexed by
 * message type to a handler that fills the reply p9_msg (or returns an
 * errno, answered as Rlerror), and encoded into the caller's buffer. Rread
 * and Rreaddir data is produced in place in the reply buffer. A handler
 * whose back end has to wait returns P9_PENDING; the request is then parked
 * with a copy of its frame and re-run when the back end wakes it.
 */
#include "fs9p/server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/locks.h"
#include "fs9p/wire.h"

#define MAX_NAME 255u
#define MAX_PATH 4095u
#define MAX_FIDS 65536u
#define NOBODY_UID 65534u
#define RDATA_OFFSET (P9_HEADER_SIZE + 4u)   /* Rread/Rreaddir: header, count[4] */
#define GETATTR_ALL 0x3FFFull

struct fid {
    uint32_t id;
    struct fid *next;                /* hash chain */
    struct p9_node *node;
    struct p9_node *parent;          /* where the last walk step came from, or NULL */
    char *name;                      /* ...and by which name */
    uint64_t root_ino;               /* the attach root: ".." stops here */
    struct p9_cred cred;
    bool open;
    uint32_t open_flags;
    void *handle;
};

struct parked {
    struct p9_server *srv;
    struct parked *next;
    uint64_t token;
    size_t reply_cap;
    uint16_t tag;
    bool cancelled;                  /* flushed or reset: wake only frees it */
    size_t len;
    uint8_t frame[];
};

struct p9_server {
    struct p9_backend be;
    uint32_t max_msize, msize;
    struct fid **buckets;
    size_t nbuckets, nfids;
    struct p9_lock_table locks;
    struct parked *parked;
    size_t nparked;
    p9_complete_fn complete;
    void *complete_ctx;
    uint8_t *scratch;                /* reply buffer of submit */
};

/* One request in flight through the handlers. */
struct request {
    struct p9_server *srv;
    const uint8_t *frame;
    size_t len;
    struct p9_msg in, out;
    uint8_t *reply;
    size_t cap;                      /* min(caller's buffer, msize) */
    bool can_park;
    uint64_t token;
    size_t reply_cap;
    struct p9_lock_owner lock_holder;   /* Rgetlock's client id lives here */
};

/* ---- back-end shorthands ---- */

static const struct p9_backend_ops *ops(struct p9_server *srv) { return srv->be.ops; }
static void *be(struct p9_server *srv) { return srv->be.be; }

static void node_drop(struct p9_server *srv, struct p9_node *n)
{
    if (n)
        ops(srv)->release(be(srv), n);
}

static int node_attr(struct p9_server *srv, struct p9_node *n, struct p9_attr *a)
{
    return ops(srv)->getattr(be(srv), n, a);
}

static struct p9_qid qid_of(const struct p9_attr *a)
{
    uint8_t type = S_ISDIR(a->mode) ? P9_QTDIR : S_ISLNK(a->mode) ? P9_QTSYMLINK : P9_QTFILE;
    return (struct p9_qid){ type, 0, a->ino };
}

static int node_qid(struct p9_server *srv, struct p9_node *n, struct p9_qid *q)
{
    struct p9_attr a;
    int err = node_attr(srv, n, &a);
    if (!err)
        *q = qid_of(&a);
    return err;
}

/* ---- access checks (only for back ends that store the guest's owners) ---- */

enum { MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4 };

static bool checks_perms(struct p9_server *srv)
{
    return srv->be.flags & P9_BACKEND_CHECK_PERMS;
}

static int access_ok(const struct p9_attr *a, const struct p9_cred *c, unsigned want)
{
    if (c->uid == 0) {
        bool any_exec = a->mode & 0111;
        return (want & MAY_EXEC) && !S_ISDIR(a->mode) && !any_exec ? EACCES : 0;
    }
    unsigned shift = c->uid == a->uid ? 6 : c->gid == a->gid ? 3 : 0;
    unsigned bits = (a->mode >> shift) & 7;
    return (bits & want) == want ? 0 : EACCES;
}

static int may(struct p9_server *srv, struct p9_node *n, const struct p9_cred *c, unsigned want)
{
    if (!checks_perms(srv))
        return 0;
    struct p9_attr a;
    int err = node_attr(srv, n, &a);
    return err ? err : access_ok(&a, c, want);
}

/* May `c` remove or rename the entry `name` of dir (write+search on dir,
 * and the sticky-bit rule)? */
static int may_delete(struct p9_server *srv, struct p9_node *dir, const char *name,
                      const struct p9_cred *c)
{
    if (!checks_perms(srv))
        return 0;
    struct p9_attr da, va;
    struct p9_node *victim;
    int err = node_attr(srv, dir, &da);
    if (!err)
        err = access_ok(&da, c, MAY_WRITE | MAY_EXEC);
    if (err || !(da.mode & S_ISVTX) || c->uid == 0 || c->uid == da.uid)
        return err;
    err = ops(srv)->lookup(be(srv), dir, name, &victim);
    if (err)
        return err;
    err = node_attr(srv, victim, &va);
    node_drop(srv, victim);
    return err ? err : va.uid == c->uid ? 0 : EPERM;
}

/* ---- fid table: a chained hash on the fid number ---- */

static size_t fid_hash(const struct p9_server *srv, uint32_t id)
{
    return (id * 2654435761u) & (srv->nbuckets - 1);
}

static struct fid *fid_find(struct p9_server *srv, uint32_t id)
{
    for (struct fid *f = srv->buckets[fid_hash(srv, id)]; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

static void fid_rehash(struct p9_server *srv)
{
    size_t n = srv->nbuckets * 2;
    struct fid **b = calloc(n, sizeof *b);
    if (!b)
        return;   /* keep the longer chains */
    struct fid **old = srv->buckets;
    size_t oldn = srv->nbuckets;
    srv->buckets = b;
    srv->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        for (struct fid *f = old[i], *next; f; f = next) {
            next = f->next;
            size_t h = fid_hash(srv, f->id);
            f->next = b[h];
            b[h] = f;
        }
    }
    free(old);
}

static int fid_new(struct p9_server *srv, uint32_t id, struct fid **out)
{
    if (id == P9_NOFID || fid_find(srv, id))
        return EINVAL;
    if (srv->nfids >= MAX_FIDS)
        return EMFILE;
    struct fid *f = calloc(1, sizeof *f);
    if (!f)
        return ENOMEM;
    f->id = id;
    if (srv->nfids >= srv->nbuckets * 2)
        fid_rehash(srv);
    size_t h = fid_hash(srv, id);
    f->next = srv->buckets[h];
    srv->buckets[h] = f;
    srv->nfids++;
    *out = f;
    return 0;
}

static void fid_close(struct p9_server *srv, struct fid *f)
{
    if (f->open && ops(srv)->close)
        ops(srv)->close(be(srv), f->node, f->handle);
    f->open = false;
    f->handle = NULL;
}

/* Points f at (node, parent, name), taking over the references given. */
static void fid_set(struct p9_server *srv, struct fid *f, struct p9_node *node,
                    struct p9_node *parent, char *name)
{
    fid_close(srv, f);
    node_drop(srv, f->node);
    node_drop(srv, f->parent);
    free(f->name);
    f->node = node;
    f->parent = parent;
    f->name = name;
}

static void fid_destroy(struct p9_server *srv, uint32_t id)
{
    struct fid **link = &srv->buckets[fid_hash(srv, id)];
    while (*link && (*link)->id != id)
        link = &(*link)->next;
    struct fid *f = *link;
    if (!f)
        return;
    *link = f->next;
    fid_set(srv, f, NULL, NULL, NULL);
    free(f);
    srv->nfids--;
}

static void fid_destroy_all(struct p9_server *srv)
{
    for (size_t i = 0; i < srv->nbuckets; i++)
        while (srv->buckets[i])
            fid_destroy(srv, srv->buckets[i]->id);
}

static int fid_get(struct request *rq, unsigned field, struct fid **out)
{
    *out = fid_find(rq->srv, (uint32_t)rq->in.f[field].num);
    return *out ? 0 : EBADF;
}

/* ---- strings from the wire ---- */

/* A path component: no NUL or '/', not empty, "." or ".." (unless dotdot). */
static int get_name(const struct p9_bytes *b, char out[MAX_NAME + 1], bool dotdot)
{
    if (b->len == 0 || memchr(b->ptr, 0, b->len) || memchr(b->ptr, '/', b->len))
        return EINVAL;
    if (b->len > MAX_NAME)
        return ENAMETOOLONG;
    memcpy(out, b->ptr, b->len);
    out[b->len] = 0;
    if (strcmp(out, ".") == 0 || (!dotdot && strcmp(out, "..") == 0))
        return EINVAL;
    return 0;
}

static int get_text(const struct p9_bytes *b, char out[MAX_PATH + 1])
{
    if (memchr(b->ptr, 0, b->len))
        return EINVAL;
    if (b->len > MAX_PATH)
        return ENAMETOOLONG;
    memcpy(out, b->ptr, b->len);
    out[b->len] = 0;
    return 0;
}

static struct p9_bytes bytes_of(const char *s, size_t len)
{
    return (struct p9_bytes){ (const uint8_t *)s, (uint32_t)len };
}

/* ---- session: version, attach, walk, clunk, flush ---- */

static void cancel_parked(struct p9_server *srv, struct parked *p);

static int h_version(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    enum { MSIZE, VERSION };
    static const char dotl[] = "9P2000.L";
    uint64_t msize = rq->in.f[MSIZE].num;
    if (msize > srv->max_msize)
        msize = srv->max_msize;
    const struct p9_bytes *v = &rq->in.f[VERSION].str;
    bool known = v->len >= sizeof dotl - 1 && memcmp(v->ptr, dotl, sizeof dotl - 1) == 0;
    if (msize < P9_MIN_MSIZE && msize < srv->max_msize)
        return EINVAL;
    p9_server_reset(srv);
    srv->msize = (uint32_t)msize;
    rq->out.f[MSIZE].num = msize;
    rq->out.f[VERSION].str = known ? bytes_of(dotl, sizeof dotl - 1) : bytes_of("unknown", 7);
    return 0;
}

/* Walks one element from *cur (replacing it); ".." stops at root_ino. */
static int walk_step(struct p9_server *srv, struct p9_node **cur, const char *name,
                     uint64_t root_ino, const struct p9_cred *cred)
{
    struct p9_attr a;
    int err = node_attr(srv, *cur, &a);
    if (err)
        return err;
    if (!S_ISDIR(a.mode))
        return ENOTDIR;
    if (checks_perms(srv) && (err = access_ok(&a, cred, MAY_EXEC)))
        return err;
    struct p9_node *next;
    if (strcmp(name, "..") == 0 && a.ino == root_ino)
        next = ops(srv)->retain(be(srv), *cur);
    else if ((err = ops(srv)->lookup(be(srv), *cur, name, &next)))
        return err;
    node_drop(srv, *cur);
    *cur = next;
    return 0;
}

/* Resolves an attach name ("", "/", "a/b") below the back end's root. */
static int resolve_aname(struct p9_server *srv, const char *aname, const struct p9_cred *cred,
                         struct p9_node **out)
{
    struct p9_node *cur;
    int err = ops(srv)->root(be(srv), &cur);
    while (!err && *aname) {
        size_t len = strcspn(aname, "/");
        char name[MAX_NAME + 1];
        if (len > MAX_NAME)
            err = ENAMETOOLONG;
        else if (len == 2 && memcmp(aname, "..", 2) == 0)
            err = EACCES;
        else if (len && !(len == 1 && aname[0] == '.')) {
            memcpy(name, aname, len);
            name[len] = 0;
            err = walk_step(srv, &cur, name, UINT64_MAX, cred);
        }
        aname += len + (aname[len] == '/');
    }
    struct p9_attr a;
    if (!err && !(err = node_attr(srv, cur, &a)) && !S_ISDIR(a.mode))
        err = ENOTDIR;
    if (err)
        node_drop(srv, cur);
    else
        *out = cur;
    return err;
}

static int h_attach(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    enum { FID, AFID, UNAME, ANAME, N_UNAME };
    char aname[MAX_PATH + 1];
    if (rq->in.f[AFID].num != P9_NOFID)
        return EINVAL;
    int err = get_text(&rq->in.f[ANAME].str, aname);
    if (err)
        return err;
    uint32_t uid = (uint32_t)rq->in.f[N_UNAME].num;
    if (uid == P9_NOFID)
        uid = NOBODY_UID;
    struct p9_cred cred = { uid, uid };
    struct p9_node *root;
    struct p9_attr a;
    if ((err = resolve_aname(srv, aname, &cred, &root)))
        return err;
    struct fid *f;
    if ((err = node_attr(srv, root, &a)) || (err = fid_new(srv, (uint32_t)rq->in.f[FID].num, &f))) {
        node_drop(srv, root);
        return err;
    }
    fid_set(srv, f, root, NULL, NULL);
    f->root_ino = a.ino;
    f->cred = cred;
    rq->out.f[0].qid = qid_of(&a);
    return 0;
}

/* Walks names[0..count) from start; *done = steps that succeeded, with
 * their qids; on full success *out is the node and *parent and *name where the
 * last step came from (NULL when it came by ".." or there was no step). */
static int walk_names(struct request *rq, struct fid *start, struct p9_node **out,
                      struct p9_node **parent, char **name, unsigned *done)
{
    struct p9_server *srv = rq->srv;
    struct p9_node *cur = ops(srv)->retain(be(srv), start->node);
    struct p9_node *prev = NULL;
    char elem[MAX_NAME + 1] = "";
    int err = 0;
    for (*done = 0; *done < rq->in.count; (*done)++) {
        if ((err = get_name(&rq->in.names[*done], elem, true)))
            break;
        node_drop(srv, prev);
        prev = ops(srv)->retain(be(srv), cur);
        if ((err = walk_step(srv, &cur, elem, start->root_ino, &start->cred))
            || (err = node_qid(srv, cur, &rq->out.qids[*done])))
            break;
    }
    bool by_name = *done > 0 && strcmp(elem, "..") != 0;
    if (err || !by_name) {
        node_drop(srv, prev);
        prev = NULL;
    }
    if (err) {
        node_drop(srv, cur);
        return err;
    }
    *name = by_name ? strdup(elem) : NULL;
    if (by_name && !*name) {
        node_drop(srv, prev);
        node_drop(srv, cur);
        return ENOMEM;
    }
    *out = cur;
    *parent = prev;
    return 0;
}

static int h_walk(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    enum { FID, NEWFID };
    struct fid *f, *nf;
    int err = fid_get(rq, FID, &f);
    if (err)
        return err;
    uint32_t newid = (uint32_t)rq->in.f[NEWFID].num;
    if (newid != f->id && fid_find(srv, newid))
        return EINVAL;
    struct p9_node *node, *parent;
    char *name;
    unsigned done;
    err = walk_names(rq, f, &node, &parent, &name, &done);
    if (err && done == 0)
        return err;
    rq->out.count = (uint16_t)done;
    if (err)
        return 0;                       /* a partial walk: newfid is not made */
    if (done == 0) {                    /* a clone keeps where f came from */
        parent = f->parent ? ops(srv)->retain(be(srv), f->parent) : NULL;
        name = f->name ? strdup(f->name) : NULL;
        if (f->name && !name) {
            node_drop(srv, parent);
            parent = NULL;
        }
    }
    if (newid == f->id) {
        nf = f;
    } else if ((err = fid_new(srv, newid, &nf))) {
        node_drop(srv, node);
        node_drop(srv, parent);
        free(name);
        return err;
    }
    fid_set(srv, nf, node, parent, name);
    nf->root_ino = f->root_ino;
    nf->cred = f->cred;
    return 0;
}

static int h_clunk(struct request *rq)
{
    struct fid *f;
    int err = fid_get(rq, 0, &f);
    if (!err)
        fid_destroy(rq->srv, f->id);
    return err;
}

static int h_flush(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    uint16_t oldtag = (uint16_t)rq->in.f[0].num;
    for (struct parked *p = srv->parked; p; p = p->next) {
        if (p->tag == oldtag) {
            cancel_parked(srv, p);
            break;
        }
    }
    return 0;
}

static int h_unsupported(struct request *rq)
{
    (void)rq;
    return EOPNOTSUPP;
}

/* ---- attributes ---- */

static int h_getattr(struct request *rq)
{
    struct fid *f;
    struct p9_attr a;
    int err = fid_get(rq, 0, &f);
    if (err || (err = node_attr(rq->srv, f->node, &a)))
        return err;
    const uint64_t fields[] = {
        GETATTR_ALL, 0, a.mode, a.uid, a.gid, a.nlink, a.rdev, a.size, a.blksize, a.blocks,
        a.atime.sec, a.atime.nsec, a.mtime.sec, a.mtime.nsec, a.ctime.sec, a.ctime.nsec,
        a.btime.sec, a.btime.nsec, a.gen, a.data_version,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        rq->out.f[i].num = fields[i];
    rq->out.f[1].qid = qid_of(&a);
    return 0;
}

/* The ownership rules of chmod, chown, truncate and utimes. */
static int may_setattr(struct p9_server *srv, struct fid *f, const struct p9_setattr *sa)
{
    if (!checks_perms(srv) || f->cred.uid == 0)
        return 0;
    struct p9_attr a;
    int err = node_attr(srv, f->node, &a);
    if (err)
        return err;
    bool owner = f->cred.uid == a.uid;
    if ((sa->valid & P9_SETATTR_UID) && sa->uid != a.uid)
        return EPERM;
    if ((sa->valid & (P9_SETATTR_MODE | P9_SETATTR_GID)) && !owner)
        return EPERM;
    if ((sa->valid & (P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME_SET)) && !owner)
        return EPERM;
    bool wants_write = sa->valid & (P9_SETATTR_SIZE | P9_SETATTR_ATIME | P9_SETATTR_MTIME);
    if (wants_write && !owner)
        return access_ok(&a, &f->cred, MAY_WRITE);
    return 0;
}

static int ready(struct request *rq, struct p9_node *n);

static int h_setattr(struct request *rq)
{
    enum { FID, VALID, MODE, UID, GID, SIZE, ASEC, ANSEC, MSEC, MNSEC };
    const struct p9_value *v = rq->in.f;
    struct fid *f;
    int err = fid_get(rq, FID, &f);
    if (err)
        return err;
    struct p9_setattr sa = {
        .valid = (uint32_t)v[VALID].num, .mode = (uint32_t)v[MODE].num,
        .uid = (uint32_t)v[UID].num, .gid = (uint32_t)v[GID].num, .size = v[SIZE].num,
        .atime = { v[ASEC].num, v[ANSEC].num }, .mtime = { v[MSEC].num, v[MNSEC].num },
    };
    if (((sa.valid & P9_SETATTR_ATIME_SET) && sa.atime.nsec >= 1000000000u)
        || ((sa.valid & P9_SETATTR_MTIME_SET) && sa.mtime.nsec >= 1000000000u))
        return EINVAL;
    if ((err = may_setattr(rq->srv, f, &sa)))
        return err;
    if ((sa.valid & P9_SETATTR_SIZE) && sa.size && (err = ready(rq, f->node)))
        return err;
    return ops(rq->srv)->setattr(be(rq->srv), f->node, &sa);
}

static int h_statfs(struct request *rq)
{
    struct fid *f;
    struct p9_statfs s;
    int err = fid_get(rq, 0, &f);
    if (err || (err = ops(rq->srv)->statfs(be(rq->srv), f->node, &s)))
        return err;
    const uint64_t fields[] = { s.type, s.bsize, s.blocks, s.bfree, s.bavail,
                                s.files, s.ffree, s.fsid, s.namelen };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        rq->out.f[i].num = fields[i];
    return 0;
}

/* ---- waiting back ends ---- */

static void on_wake(void *arg, int err);

/* Asks the back end to make n's data available (see backend.h prepare). */
static int ready(struct request *rq, struct p9_node *n)
{
    struct p9_server *srv = rq->srv;
    if (!ops(srv)->prepare)
        return 0;
    struct parked *p = calloc(1, sizeof *p + rq->len);
    if (!p)
        return ENOMEM;
    *p = (struct parked){ .srv = srv, .token = rq->token, .reply_cap = rq->reply_cap,
                          .tag = rq->in.tag, .len = rq->len };
    memcpy(p->frame, rq->frame, rq->len);
    int err = ops(srv)->prepare(be(srv), n, on_wake, p);
    if (err != P9_PENDING) {
        free(p);
        return err;
    }
    if (!rq->can_park) {
        p->cancelled = true;            /* the wake will only free it */
        return EAGAIN;
    }
    p->next = srv->parked;
    srv->parked = p;
    srv->nparked++;
    return P9_PENDING;
}

/* ---- open files: lopen, lcreate, read, write, readdir, fsync ---- */

static unsigned open_access(uint32_t flags)
{
    unsigned acc = flags & P9_DOTL_ACCMODE;
    unsigned want = acc == P9_DOTL_RDONLY ? MAY_READ : acc == P9_DOTL_WRONLY ? MAY_WRITE
                                                                            : MAY_READ | MAY_WRITE;
    return want | (flags & P9_DOTL_TRUNC ? MAY_WRITE : 0);
}

static uint32_t iounit(struct p9_server *srv)
{
    return srv->msize - P9_IOHDR_SIZE;
}

static void mark_open(struct fid *f, uint32_t flags, void *handle)
{
    f->open = true;
    f->open_flags = flags;
    f->handle = handle;
}

static int h_lopen(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    enum { FID, FLAGS };
    struct fid *f;
    int err = fid_get(rq, FID, &f);
    if (err)
        return err;
    uint32_t flags = (uint32_t)rq->in.f[FLAGS].num;
    if (f->open || (flags & P9_DOTL_ACCMODE) == P9_DOTL_ACCMODE)
        return EINVAL;
    if ((err = may(srv, f->node, &f->cred, open_access(flags))))
        return err;
    if ((open_access(flags) & MAY_READ) && !(flags & P9_DOTL_TRUNC) && (err = ready(rq, f->node)))
        return err;
    void *handle = NULL;
    if ((err = ops(srv)->open(be(srv), f->node, flags, &handle)))
        return err;
    mark_open(f, flags, handle);
    rq->out.f[1].num = iounit(srv);
    return node_qid(srv, f->node, &rq->out.f[0].qid);
}

static int h_lcreate(struct request *rq)
{
    struct p9_server *srv = rq->srv;
    enum { FID, NAME, FLAGS, MODE, GID };
    struct fid *f;
    char name[MAX_NAME + 1];
    int err = fid_get(rq, FID, &f);
    if (err || (err = get_name(&rq->in.f[NAME].str, name, false)))
        return err;
    if (f->open)
        return EINVAL;
    if ((err = may(srv, f->node, &f->cred, MAY_WRITE | MAY_EXEC)))
        return err;
    struct p9_cred cred = { f->cred.uid, (uint32_t)rq->in.f[GID].num };
    uint32_t flags = (uint32_t)rq->in.f[FLAGS].num;
    struct p9_node *node;
    void *handle = NULL;
    err = ops(srv)->create(be(srv), f->node, name, flags, (uint32_t)rq->in.f[MODE].num, &cred,
                           &node, &handle);
    if (err)
        return err;
    char *copy = strdup(name);
    struct p9_node *dir = ops(srv)->retain(be(srv), f->node);
    fid_set(srv, f, node, copy ? dir : NULL, copy);
    if (!copy)
        node_drop(srv, dir);
    mark_open(f, flags, handle);
    rq->out.f[1].num = iounit(srv);
    return node_qid(srv, node, &rq->out.f[0].qid);
}

static int open_fid(struct request *rq, struct fid **f, unsigned want)
{
    int err = fid_get(rq, 0, f);
    if (err)
        return err;
    unsigned acc = (*f)->open_flags & P9_DOTL_ACCMODE;
    if (!(*f)->open || ((want & MAY_READ) && acc == P9_DOTL_WRONLY)
        || ((want & MAY_WRITE) && acc == P9_DOTL_RDONLY))
        return EBADF;
    return 0;
}

/* Room for data in a reply of up to `count` bytes of payload. */
static uint32_t data_room(const struct request *rq, uint64_t count)
{
    size_t room = rq->cap - RDATA_OFFSET;
    return (uint32_t)(count < room ? count : room);
}

static int h_read(struct request *rq)
{
    enum { FID, OFFSET, COUNT };
    struct fid *f;
    int err = open_fid(rq, &f, MAY_READ);
    if (err || (err = ready(rq, f->node)))
        return err;
    uint8_t *data = rq->reply + RDATA_OFFSET;
    uint32_t done = 0;
    err = ops(rq->srv)->read(be(rq->srv), f->node, f->handle, rq->in.f[OFFSET].num, data,
                             data_room(rq, rq->in.f[COUNT].num), &done);
    rq->out.f[0].str = (struct p9_bytes){ data, done };
    return err;
}

static int h_write(struct request *rq)
{
    enum { FID, OFFSET, DATA };
    struct fid *f;
    int err = open_fid(rq, &f, MAY_WRITE);
    if (err || (err = ready(rq, f->node)))
        return err;
    const struct p9_bytes *d = &rq->in.f[DATA].str;
    uint32_t done = 0;
    err = ops(rq->srv)->write(be(rq->srv), f->node, f->handle, rq->in.f[OFFSET].num, d->ptr,
                              d->len, &done);
    rq->out.f[0].num = done;
    return err;
}

struct dirent_sink {
    uint8_t *buf;
    size_t cap, pos;
};

static uint8_t qid_type_of_dirent(uint8_t dt)
{
    enum { DT_DIR_ = 4, DT_LNK_ = 10 };
    return dt == DT_DIR_ ? P9_QTDIR : dt == DT_LNK_ ? P9_QTSYMLINK : P9_QTFILE;
}

static int put_dirent(void *ctx, const char *name, uint64_t ino, uint8_t type, uint64_t next)
{
    struct dirent_sink *s = ctx;
    struct p9_qid q = { qid_type_of_dirent(type), 0, ino };
    return p9_put_dirent(s->buf, s->cap, &s->pos, &q, next, type, name, strlen(name));
}

static int h_readdir(struct request *rq)
{
    enum { FID, OFFSET, COUNT };
    struct fid *f;
    int err = open_fid(rq, &f, MAY_READ);
    if (err || (err = ready(rq, f->node)))
        return err;
    struct dirent_sink sink = { rq->reply + RDATA_OFFSET, data_room(rq, rq->in.f[COUNT].num), 0 };
    err = ops(rq->srv)->readdir(be(rq->srv), f->node, f->handle, rq->in.f[OFFSET].num,
                                put_dirent, &sink);
    rq->out.f[0].str = (struct p9_bytes){ sink.buf, (uint32_t)sink.pos };
    return err;
}

static int h_fsync(struct request *rq)
{
    struct fid *f;
    int err = fid_get(rq, 0, &f);
    if (err || !ops(rq->srv)->fsync)
        return err;
    return ops(rq->srv)->fsync(be(rq->srv), f->node, f->handle, (int)rq->in.f[1].num);
}

/* ---- names: mkdir, symlink, mknod, readlink, link, rename, unlink ---- */

/* The directory fid `field` and a new entry name: checks and gives both. */
static int dir_and_name(struct request *rq, unsigned fid_field, unsigned name_field,
                        struct fid **dir, char name[MAX_NAME + 1])
{
    int err = fid_get(rq, fid_field, dir);
    if (err || (err = get_name(&rq->in.f[name_field].str, name, false)))
        return err;
    return may(rq->srv, (*dir)->node, &(*dir)->cred, MAY_WRITE | MAY_EXEC);
}

/* Replies the qid of a node just made and drops it. */
static int reply_made(struct request *rq, int err, struct p9_node *n)
{
    if (err)
        return err;
    err = node_qid(rq->srv, n, &rq->out.f[0].qid);
    node_drop(rq->srv, n);
    return err;
}

static int h_mkdir(struct request *rq)
{
    enum { DFID, NAME, MODE, GID };
    struct fid *d;
    char name[MAX_NAME + 1];
    int err = dir_and_name(rq, DFID, NAME, &d, name);
    if (err)
        return err;
    struct p9_cred cred = { d->cred.uid, (uint32_t)rq->in.f[GID].num };
    struct p9_node *n = NULL;
    err = ops(rq->srv)->mkdir(be(rq->srv), d->node, name, (uint32_t)rq->in.f[MODE].num, &cred, &n);
    return reply_made(rq, err, n);
}

static int h_symlink(struct request *rq)
{
    enum { FID, NAME, TARGET, GID };
    struct fid *d;
    char name[MAX_NAME + 1], target[MAX_PATH + 1];
    int err = dir_and_name(rq, FID, NAME, &d, name);
    if (err || (err = get_text(&rq->in.f[TARGET].str, target)))
        return err;
    if (!*target)
        return ENOENT;
    struct p9_cred cred = { d->cred.uid, (uint32_t)rq->in.f[GID].num };
    struct p9_node *n = NULL;
    err = ops(rq->srv)->symlink(be(rq->srv), d->node, name, target, &cred, &n);
    return reply_made(rq, err, n);
}

static int h_mknod(struct request *rq)
{
    enum { DFID, NAME, MODE, MAJOR, MINOR, GID };
    const struct p9_value *v = rq->in.f;
    struct fid *d;
    char name[MAX_NAME + 1];
    int err = dir_and_name(rq, DFID, NAME, &d, name);
    if (err)
        return err;
    struct p9_cred cred = { d->cred.uid, (uint32_t)v[GID].num };
    struct p9_node *n = NULL;
    err = ops(rq->srv)->mknod(be(rq->srv), d->node, name, (uint32_t)v[MODE].num,
                              (uint32_t)v[MAJOR].num, (uint32_t)v[MINOR].num, &cred, &n);
    return reply_made(rq, err, n);
}

static int h_readlink(struct request *rq)
{
    struct fid *f;
    int err = fid_get(rq, 0, &f);
    if (err)
        return err;
    /* The target goes straight into the reply after its length field. */
    char *buf = (char *)rq->reply + P9_HEADER_SIZE + 2;
    size_t cap = rq->cap - P9_HEADER_SIZE - 2, len = 0;
    if (cap > MAX_PATH)
        cap = MAX_PATH;
    err = ops(rq->srv)->readlink(be(rq->srv), f->node, buf, cap, &len);
    rq->out.f[0].str = bytes_of(buf, len);
    return err;
}

static int h_link(struct request *rq)
{
    enum { DFID, FID, NAME };
    struct fid *d, *f;
    char name[MAX_NAME + 1];
    int err = dir_and_name(rq, DFID, NAME, &d, name);
    if (err || (err = fid_get(rq, FID, &f)))
        return err;
    return ops(rq->srv)->link(be(rq->srv), d->node, name, f->node);
}

static int rename_checked(struct request *rq, struct p9_node *olddir, const char *oldname,
                          struct fid *newdir, const char *newname, const struct p9_cred *cred)
{
    struct p9_server *srv = rq->srv;
    int err = may_delete(srv, olddir, oldname, cred);
    if (!err && (err = may_delete(srv, newdir->node, newname, cred)) == ENOENT)
        err = 0;
    return err ? err : ops(srv)->rename(be(srv), olddir, oldname, newdir->node, newname);
}

static int h_renameat(struct request *rq)
{
    enum { OLDDIR, OLDNAME, NEWDIR, NEWNAME };
    struct fid *od, *nd;
    char oldname[MAX_NAME + 1], newname[MAX_NAME + 1];
    int err = fid_get(rq, OLDDIR, &od);
    if (err || (err = fid_get(rq, NEWDIR, &nd))
        || (err = get_name(&rq->in.f[OLDNAME].str, oldname, false))
        || (err = get_name(&rq->in.f[NEWNAME].str, newname, false)))
        return err;
    return rename_checked(rq, od->node, oldname, nd, newname, &od->cred);
}

/* Is f's node still the one its remembered (parent, name) leads to? The
 * entry may have been renamed or replaced through another fid since. */
static int still_named(struct request *rq, struct fid *f)
{
    struct p9_server *srv = rq->srv;
    struct p9_node *n;
    struct p9_attr now_named, mine;
    if (!f->parent)
        return EBUSY;
    int err = ops(srv)->lookup(be(srv), f->parent, f->name, &n);
    if (err)
        return err;
    err = node_attr(srv, n, &now_named);
    node_drop(srv, n);
    if (!err)
        err = node_attr(srv, f->node, &mine);
    return err ? err : now_named.ino == mine.ino ? 0 : ESTALE;
}

static int h_rename(struct request *rq)
{
    enum { FID, DFID, NAME };
    struct fid *f, *d;
    char name[MAX_NAME + 1];
    int err = fid_get(rq, FID, &f);
    if (err || (err = fid_get(rq, DFID, &d)) || (err = get_name(&rq->in.f[NAME].str, name, false)))
        return err;
    if ((err = still_named(rq, f))
        || (err = rename_checked(rq, f->parent, f->name, d, name, &f->cred)))
        return err;
    char *copy = strdup(name);
    if (copy) {                      /* the fid now lives under its new name */
        node_drop(rq->srv, f->parent);
        free(f->name);
        f->parent = ops(rq->srv)->retain(be(rq->srv), d->node);
        f->name = copy;
    }
    return 0;
}

static int unlink_checked(struct request *rq, struct p9_node *dir, const char *name,
                          uint32_t flags, const struct p9_cred *cred)
{
    int err = may_delete(rq->srv, dir, name, cred);
    return err ? err : ops(rq->srv)->unlink(be(rq->srv), dir, name, flags);
}

static int h_unlinkat(struct request *rq)
{
    enum { DFID, NAME, FLAGS };
    struct fid *d;
    char name[MAX_NAME + 1];
    int err = fid_get(rq, DFID, &d);
    if (err || (err = get_name(&rq->in.f[NAME].str, name, false)))
        return err;
    return unlink_checked(rq, d->node, name, (uint32_t)rq->in.f[FLAGS].num, &d->cred);
}

static int h_remove(struct request *rq)
{
    struct fid *f;
    struct p9_attr a;
    int err = fid_get(rq, 0, &f);
    if (err)
        return err;
    if (!(err = still_named(rq, f)) && !(err = node_attr(rq->srv, f->node, &a)))
        err = unlink_checked(rq, f->parent, f->name, S_ISDIR(a.mode) ? P9_AT_REMOVEDIR : 0,
                             &f->cred);
    fid_destroy(rq->srv, f->id);     /* Tremove clunks, whatever happened */
    return err;
}

/* ---- locks ---- */

static int lock_owner(const struct p9_bytes *client, uint64_t proc_id, struct p9_lock_owner *o)
{
    if (client->len > P9_LOCK_CLIENT_MAX)
        return EINVAL;
    o->proc_id = (uint32_t)proc_id;
    o->client_len = (uint16_t)client->len;
    memcpy(o->client, client->ptr, client->len);
    return 0;
}

static int fid_ino(struct request *rq, struct fid *f, uint64_t *ino)
{
    struct p9_attr a;
    int err = node_attr(rq->srv, f->node, &a);
    if (!err)
        *ino = a.ino;
    return err;
}

static int h_lock(struct request *rq)
{
    enum { FID, TYPE, FLAGS, START, LENGTH, PROC_ID, CLIENT_ID };
    const struct p9_value *v = rq->in.f;
    struct fid *f;
    struct p9_lock_owner owner;
    uint64_t ino;
    int err = fid_get(rq, FID, &f);
    if (err || (err = lock_owner(&v[CLIENT_ID].str, v[PROC_ID].num, &owner))
        || (err = fid_ino(rq, f, &ino)))
        return err;
    struct p9_lock_range r = { (uint8_t)v[TYPE].num, v[START].num, v[LENGTH].num };
    int status = p9_locks_set(&rq->srv->locks, ino, &owner, &r);
    if (status == -EINVAL)
        return EINVAL;
    rq->out.f[0].num = status < 0 ? P9_LOCK_ERROR : (uint64_t)status;
    return 0;
}

static int h_getlock(struct request *rq)
{
    enum { FID, TYPE, START, LENGTH, PROC_ID, CLIENT_ID };
    const struct p9_value *v = rq->in.f;
    struct fid *f;
    struct p9_lock_owner owner;
    uint64_t ino;
    int err = fid_get(rq, FID, &f);
    if (err || (err = lock_owner(&v[CLIENT_ID].str, v[PROC_ID].num, &owner))
        || (err = fid_ino(rq, f, &ino)))
        return err;
    struct p9_lock_range r = { (uint8_t)v[TYPE].num, v[START].num, v[LENGTH].num };
    struct p9_lock_owner *who = &rq->lock_holder;
    if (!p9_locks_test(&rq->srv->locks, ino, &owner, &r, who))
        *who = owner;
    rq->out.f[0].num = r.type;
    rq->out.f[1].num = r.start;
    rq->out.f[2].num = r.length;
    rq->out.f[3].num = who->proc_id;
    rq->out.f[4].str = bytes_of(who->client, who->client_len);
    return 0;
}

/* ---- dispatch ---- */

typedef int (*handler_fn)(struct request *rq);

static const handler_fn handlers[256] = {
    [P9_TSTATFS] = h_statfs,     [P9_TLOPEN] = h_lopen,       [P9_TLCREATE] = h_lcreate,
    [P9_TSYMLINK] = h_symlink,   [P9_TMKNOD] = h_mknod,       [P9_TRENAME] = h_rename,
    [P9_TREADLINK] = h_readlink, [P9_TGETATTR] = h_getattr,   [P9_TSETATTR] = h_setattr,
    [P9_TXATTRWALK] = h_unsupported, [P9_TXATTRCREATE] = h_unsupported,
    [P9_TREADDIR] = h_readdir,   [P9_TFSYNC] = h_fsync,       [P9_TLOCK] = h_lock,
    [P9_TGETLOCK] = h_getlock,   [P9_TLINK] = h_link,         [P9_TMKDIR] = h_mkdir,
    [P9_TRENAMEAT] = h_renameat, [P9_TUNLINKAT] = h_unlinkat, [P9_TVERSION] = h_version,
    [P9_TAUTH] = h_unsupported,  [P9_TATTACH] = h_attach,     [P9_TFLUSH] = h_flush,
    [P9_TWALK] = h_walk,         [P9_TREAD] = h_read,         [P9_TWRITE] = h_write,
    [P9_TCLUNK] = h_clunk,       [P9_TREMOVE] = h_remove,
};

/* Runs one request; returns the reply length, or 0 if it was parked. */
static size_t run(struct request *rq)
{
    int err = p9_decode(rq->frame, rq->len, &rq->in);
    handler_fn h = err ? NULL : handlers[rq->in.type];
    if (!err && !h)
        err = EOPNOTSUPP;
    if (!err) {
        rq->out.type = (uint8_t)(rq->in.type + 1);
        rq->out.tag = rq->in.tag;
        err = h(rq);
    }
    if (err == P9_PENDING)
        return 0;
    size_t n = err ? 0 : p9_encode(&rq->out, rq->reply, rq->cap);
    if (!err && !n)
        err = EMSGSIZE;
    return err ? p9_encode_lerror(rq->in.tag, (uint32_t)err, rq->reply, rq->cap) : n;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static void request_init(struct request *rq, struct p9_server *srv, const uint8_t *req,
                         size_t len, uint8_t *reply, size_t cap)
{
    rq->srv = srv;
    rq->frame = req;
    rq->len = len;
    rq->reply = reply;
    rq->cap = min_size(cap, srv->msize);
    rq->reply_cap = cap;
}

size_t p9_server_handle(struct p9_server *srv, const uint8_t *req, size_t len,
                        uint8_t *reply, size_t cap)
{
    if (cap < P9_MIN_REPLY)
        return 0;
    struct request rq = { 0 };
    request_init(&rq, srv, req, len, reply, cap);
    return run(&rq);
}

void p9_server_submit(struct p9_server *srv, const uint8_t *req, size_t len, size_t reply_cap,
                      uint64_t token)
{
    size_t cap = min_size(reply_cap, srv->max_msize);
    struct request rq = { 0 };
    request_init(&rq, srv, req, len, srv->scratch, cap);
    rq.can_park = true;
    rq.token = token;
    size_t n = cap < P9_MIN_REPLY ? 0 : run(&rq);
    if (n || cap < P9_MIN_REPLY)
        srv->complete(srv->complete_ctx, token, srv->scratch, n);
}

static void unlink_parked(struct p9_server *srv, struct parked *p)
{
    for (struct parked **link = &srv->parked; *link; link = &(*link)->next) {
        if (*link == p) {
            *link = p->next;
            srv->nparked--;
            return;
        }
    }
}

/* Answers a parked request with EINTR now; its later wake only frees it.
 * It builds that reply in the scratch buffer: handlers call it (flush,
 * version) before they produce their own reply. */
static void cancel_parked(struct p9_server *srv, struct parked *p)
{
    unlink_parked(srv, p);
    p->cancelled = true;
    size_t n = p9_encode_lerror(p->tag, EINTR, srv->scratch, min_size(p->reply_cap, srv->msize));
    srv->complete(srv->complete_ctx, p->token, srv->scratch, n);
}

static void on_wake(void *arg, int err)
{
    struct parked *p = arg;
    struct p9_server *srv = p->srv;
    if (p->cancelled) {
        free(p);
        return;
    }
    unlink_parked(srv, p);
    if (err) {
        size_t cap = min_size(p->reply_cap, srv->msize);
        size_t n = p9_encode_lerror(p->tag, (uint32_t)err, srv->scratch, cap);
        srv->complete(srv->complete_ctx, p->token, srv->scratch, n);
    } else {
        p9_server_submit(srv, p->frame, p->len, p->reply_cap, p->token);
    }
    free(p);
}

/* ---- life cycle ---- */

static void complete_nowhere(void *ctx, uint64_t token, const uint8_t *reply, size_t len)
{
    (void)ctx, (void)token, (void)reply, (void)len;
}

struct p9_server *p9_server_new(const struct p9_server_config *cfg)
{
    struct p9_server *srv = calloc(1, sizeof *srv);
    uint32_t max = cfg->max_msize ? cfg->max_msize : P9_DEFAULT_MAX_MSIZE;
    if (max < P9_MIN_REPLY + P9_IOHDR_SIZE)
        max = P9_MIN_REPLY + P9_IOHDR_SIZE;
    if (srv) {
        srv->be = cfg->backend;
        srv->max_msize = srv->msize = max;
        srv->nbuckets = 256;
        srv->buckets = calloc(srv->nbuckets, sizeof *srv->buckets);
        srv->scratch = malloc(max);
        srv->complete = complete_nowhere;
    }
    if (!srv || !srv->buckets || !srv->scratch) {
        if (srv) {
            free(srv->buckets);
            free(srv->scratch);
            free(srv);
        }
        cfg->backend.ops->destroy(cfg->backend.be);
        return NULL;
    }
    return srv;
}

void p9_server_reset(struct p9_server *srv)
{
    while (srv->parked)
        cancel_parked(srv, srv->parked);
    fid_destroy_all(srv);
    p9_locks_clear(&srv->locks);
    srv->msize = srv->max_msize;
}

void p9_server_transport_submit(void *srv, const uint8_t *req, size_t len, uint32_t token)
{
    struct p9_server *s = srv;
    p9_server_submit(s, req, len, s->max_msize, token);
}

void p9_server_transport_reset(void *srv)
{
    p9_server_reset(srv);
}

void p9_server_free(struct p9_server *srv)
{
    if (!srv)
        return;
    p9_server_reset(srv);
    ops(srv)->destroy(be(srv));
    free(srv->buckets);
    free(srv->scratch);
    free(srv);
}

uint32_t p9_server_msize(const struct p9_server *srv)
{
    return srv->msize;
}

void p9_server_set_completion(struct p9_server *srv, p9_complete_fn fn, void *ctx)
{
    srv->complete = fn ? fn : complete_nowhere;
    srv->complete_ctx = ctx;
}

size_t p9_server_pending(const struct p9_server *srv)
{
    return srv->nparked;
}
