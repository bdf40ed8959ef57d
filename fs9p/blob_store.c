/* fs9p/blob_store.c — fs.json blobs fetched on demand, checked and cached
 * (see blob_store.h).
 *
 * Who touches what: the cache (entries, their waiters, the LRU list) and the
 * statistics belong to the guest thread alone and need no lock. The workers
 * share only the job queue, the done list, the "server down" mark and the
 * progress counters, under `lock`. A finished job goes on the done list and
 * its worker posts one "drain" (arg = the store) unless one is outstanding;
 * nothing is posted once blob_store_free has begun, and whatever a drain
 * would deliver is owned by the store, so a drain dropped by the embedder
 * after the free loses nothing. Every log line is written on the guest thread.
 */
#include "fs9p/blob_store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/blob_check.h"
#include "fs9p/blob_disk_cache.h"
#include "fs9p/blob_fetch.h"
#include "fs9p/blob_name.h"

#define DEFAULT_CACHE_BYTES ((uint64_t)64 << 20)
#define MAX_WORKERS 64
/* Bigger claims are refused before anything is allocated; this also keeps
 * the compressed bound below from overflowing. */
#define MAX_BLOB_SIZE ((uint64_t)(SIZE_MAX / 4))
#define PROGRESS_EVERY_MS 1000

struct waiter {
    struct waiter *next;
    p9_wake_fn wake;
    void *arg;
};

struct entry {
    struct entry *hash_next;
    struct entry *newer, *older;   /* LRU links while data is held */
    uint8_t *data;                 /* exactly size bytes; NULL until fetched */
    uint64_t size;
    bool pending;                  /* a job for it is out */
    struct waiter *waiters;
    char name[];
};

/* What one fetch gave: the checked blob, or the line that says why not. */
struct outcome {
    uint8_t *data;
    bool ok;
    bool from_disk;
    bool transferred;              /* the base answered with a body */
    uint64_t transferred_bytes;
    int disk_write_error;          /* errno of a failed cache-dir write */
    char line[512];                /* !ok: the log line ("" when stopped) */
};

struct job {
    struct job *next;
    uint64_t size;
    struct outcome outcome;
    char name[];
};

struct job_list {
    struct job *head, *tail;
};

struct progress {
    unsigned active;               /* fetches running now */
    uint64_t since_ms;             /* start of this busy spell */
    uint64_t last_line_ms;
    uint64_t bytes;
    unsigned files;
    bool line_ready;
    char line[96];
};

/* Context of a fetcher's progress reports. */
struct fetch_ctx {
    struct blob_store *s;
    bool on_guest_thread;
};

struct worker {
    struct blob_store *s;
    struct blob_fetcher *fetcher;
    struct fetch_ctx ctx;
    pthread_t thread;
    bool started;
};

struct blob_store {
    struct blob_store_config cfg;  /* defaults filled in; strings owned below */
    char *base;                    /* ends in '/' */
    char *cache_dir;

    /* guest thread only */
    struct entry **buckets;
    size_t nbuckets, nentries;
    struct entry *newest, *oldest;
    uint64_t cached_bytes;
    struct blob_store_stats stats;
    bool disk_warned;
    struct blob_fetcher *inline_fetcher;
    struct fetch_ctx inline_ctx;

    /* shared with the workers, under lock */
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct job_list queue, done;
    bool stopping, drain_posted, server_down;
    struct progress progress;

    struct blob_stop stop;         /* ends back-offs and transfers */
    struct worker *workers;
    unsigned nworkers;
};

static char *concat(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = malloc(la + lb + lc + 1);
    if (out) {
        memcpy(out, a, la);
        memcpy(out + la, b, lb);
        memcpy(out + la + lb, c, lc + 1);
    }
    return out;
}

/* ---- logging (guest thread) ---- */

static void log_line(const struct blob_store *s, const char *fmt, ...)
{
    char line[640];
    int n = snprintf(line, sizeof line, "fs-json: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (s->cfg.log)
        s->cfg.log(s->cfg.log_ctx, line);
    else
        fprintf(stderr, "plan86: %s\n", line);
}

/* A name from the index as it may be printed: bytes outside printable ASCII
 * become \xNN, and it is cut short to fit. */
static void quote_name(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < cap; p++) {
        if (*p >= ' ' && *p < 0x7f)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
    }
    out[o] = '\0';
}

/* ---- the name table (guest thread) ---- */

static size_t hash_name(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)h;
}

static struct entry **slot_of(struct blob_store *s, const char *name)
{
    struct entry **slot = &s->buckets[hash_name(name) & (s->nbuckets - 1)];
    while (*slot && strcmp((*slot)->name, name) != 0)
        slot = &(*slot)->hash_next;
    return slot;
}

static struct entry *find(struct blob_store *s, const char *name)
{
    return *slot_of(s, name);
}

static void grow_table(struct blob_store *s)
{
    size_t n = s->nbuckets * 2;
    struct entry **buckets = calloc(n, sizeof *buckets);
    if (!buckets)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        for (struct entry *e = s->buckets[i], *next; e; e = next) {
            next = e->hash_next;
            struct entry **slot = &buckets[hash_name(e->name) & (n - 1)];
            e->hash_next = *slot;
            *slot = e;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->nbuckets = n;
}

static struct entry *entry_add(struct blob_store *s, const char *name, uint64_t size)
{
    if (s->nentries >= s->nbuckets)
        grow_table(s);
    size_t len = strlen(name);
    struct entry *e = calloc(1, sizeof *e + len + 1);
    if (!e)
        return NULL;
    memcpy(e->name, name, len + 1);
    e->size = size;
    struct entry **slot = slot_of(s, name);
    e->hash_next = *slot;
    *slot = e;
    s->nentries++;
    return e;
}

static void entry_remove(struct blob_store *s, struct entry *e)
{
    struct entry **slot = slot_of(s, e->name);
    *slot = e->hash_next;
    s->nentries--;
    free(e);
}

/* ---- the LRU cache (guest thread) ---- */

static void lru_unlink(struct blob_store *s, struct entry *e)
{
    *(e->newer ? &e->newer->older : &s->newest) = e->older;
    *(e->older ? &e->older->newer : &s->oldest) = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push_newest(struct blob_store *s, struct entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    *(s->newest ? &s->newest->newer : &s->oldest) = e;
    s->newest = e;
}

static void lru_touch(struct blob_store *s, struct entry *e)
{
    lru_unlink(s, e);
    lru_push_newest(s, e);
}

static void drop_data(struct blob_store *s, struct entry *e)
{
    lru_unlink(s, e);
    free(e->data);
    e->data = NULL;
    s->cached_bytes -= e->size;
    if (!e->pending && !e->waiters)
        entry_remove(s, e);
}

/* Holds a new blob, evicting the least recently used others to fit the
 * bound; the new one stays even if it alone is bigger. */
static void keep_data(struct blob_store *s, struct entry *e, uint8_t *data)
{
    e->data = data;
    lru_push_newest(s, e);
    s->cached_bytes += e->size;
    while (s->cached_bytes > s->cfg.cache_bytes && s->oldest != e)
        drop_data(s, s->oldest);
}

/* ---- the cache directory (any thread) ---- */

static bool from_disk(struct blob_store *s, struct blob_fetcher *f, const char *name,
                      const struct blob_name_info *info, uint64_t size, struct outcome *o)
{
    char *path = s->cache_dir && blob_disk_cache_applies(info)
                     ? blob_disk_cache_path(s->cache_dir, name) : NULL;
    if (!path)
        return false;
    struct blob_fetch_policy once = { 1, 0, s->cfg.timeout_ms };
    struct blob_fetch_result r;
    blob_fetch(f, path, blob_raw_bound(info, size), &once, &r);
    free(path);
    if (r.status != BLOB_FETCH_OK)
        return false;
    char why[128];
    uint8_t *blob = blob_unpack(info, size, r.data, r.len, why, sizeof why);
    if (blob != r.data)
        free(r.data);
    if (!blob)
        return false; /* a stale or damaged copy: the download replaces it */
    o->data = blob;
    o->ok = o->from_disk = true;
    return true;
}

/* ---- progress (any thread, under lock) ---- */

static void post_drain_locked(struct blob_store *s);

static void progress_begin(struct blob_store *s)
{
    pthread_mutex_lock(&s->lock);
    struct progress *p = &s->progress;
    if (p->active++ == 0) {
        p->since_ms = p->last_line_ms = blob_clock_ms();
        p->bytes = 0;
        p->files = 0;
    }
    p->files++;
    pthread_mutex_unlock(&s->lock);
}

static void progress_end(struct blob_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->progress.active--;
    pthread_mutex_unlock(&s->lock);
}

/* Takes the progress line waiting to be logged, if any (guest thread). */
static void log_progress(struct blob_store *s)
{
    char line[sizeof s->progress.line];
    pthread_mutex_lock(&s->lock);
    bool ready = s->progress.line_ready;
    if (ready)
        memcpy(line, s->progress.line, sizeof line);
    s->progress.line_ready = false;
    pthread_mutex_unlock(&s->lock);
    if (ready)
        log_line(s, "%s", line);
}

static void on_progress(void *arg, size_t bytes)
{
    struct fetch_ctx *c = arg;
    struct blob_store *s = c->s;
    pthread_mutex_lock(&s->lock);
    struct progress *p = &s->progress;
    p->bytes += bytes;
    uint64_t now = blob_clock_ms();
    bool due = s->cfg.progress && now - p->since_ms > PROGRESS_EVERY_MS &&
               now - p->last_line_ms >= PROGRESS_EVERY_MS;
    if (due) {
        double mib = (double)p->bytes / (1024.0 * 1024.0);
        snprintf(p->line, sizeof p->line, "downloading %.1f MiB in %u file%s, %.1f MiB/s", mib,
                 p->files, p->files == 1 ? "" : "s", mib * 1000.0 / (double)(now - p->since_ms));
        p->last_line_ms = now;
        p->line_ready = true;
        if (!c->on_guest_thread)
            post_drain_locked(s);
    }
    pthread_mutex_unlock(&s->lock);
    if (due && c->on_guest_thread)
        log_progress(s);
}

/* ---- one blob from the base (any thread) ---- */

static bool server_is_down(struct blob_store *s)
{
    pthread_mutex_lock(&s->lock);
    bool down = s->server_down;
    pthread_mutex_unlock(&s->lock);
    return down;
}

/* Any answer means the server is up; only connection failures mark it down. */
static void note_server(struct blob_store *s, const struct blob_fetch_result *r)
{
    if (r->status == BLOB_FETCH_STOPPED)
        return;
    pthread_mutex_lock(&s->lock);
    s->server_down = r->unreachable;
    pthread_mutex_unlock(&s->lock);
}

static void describe_failure(const struct blob_fetch_result *r, const char *where,
                             const char *name, bool was_down, struct outcome *o)
{
    if (r->status == BLOB_FETCH_STOPPED)
        return;
    if (r->status == BLOB_FETCH_TOO_LARGE) {
        snprintf(o->line, sizeof o->line, "%s: size mismatch (%s)", name, r->why);
        return;
    }
    blob_fetch_describe(r, where, o->line, sizeof o->line);
    if (r->status != BLOB_FETCH_TRANSIENT || !r->unreachable)
        return;
    size_t n = strlen(o->line);
    snprintf(o->line + n, sizeof o->line - n, "%s",
             was_down ? " (server down: tried once)"
                      : "; server marked down: later blobs get one try until one arrives");
}

static void from_base(struct blob_store *s, struct blob_fetcher *f, const char *name,
                      const struct blob_name_info *info, uint64_t size, struct outcome *o)
{
    char *where = concat(s->base, name, "");
    if (!where) {
        snprintf(o->line, sizeof o->line, "%s: out of memory", name);
        return;
    }
    bool was_down = server_is_down(s);
    struct blob_fetch_policy policy = {
        .max_tries = was_down ? 1 : s->cfg.max_tries,
        .first_backoff_ms = s->cfg.first_backoff_ms,
        .timeout_ms = s->cfg.timeout_ms,
    };
    struct blob_fetch_result r;
    progress_begin(s);
    blob_fetch(f, where, blob_raw_bound(info, size), &policy, &r);
    progress_end(s);
    note_server(s, &r);
    if (r.status != BLOB_FETCH_OK) {
        describe_failure(&r, where, name, was_down, o);
    } else {
        o->transferred = true;
        o->transferred_bytes = r.len;
        char why[128];
        uint8_t *blob = blob_unpack(info, size, r.data, r.len, why, sizeof why);
        if (!blob)
            snprintf(o->line, sizeof o->line, "%s: %s", name, why);
        else if (s->cache_dir && blob_disk_cache_applies(info))
            o->disk_write_error = blob_disk_cache_put(s->cache_dir, name, r.data, r.len);
        if (blob != r.data)
            free(r.data);
        o->data = blob;
        o->ok = blob != NULL;
    }
    free(where);
}

/* Fetches and checks one blob: from the cache directory if it is there and
 * sound, else from the base. The name was checked by the caller. */
static void obtain(struct blob_store *s, struct blob_fetcher *f, const char *name, uint64_t size,
                   struct outcome *o)
{
    *o = (struct outcome){ 0 };
    struct blob_name_info info;
    blob_name_parse(name, &info);
    if (!from_disk(s, f, name, &info, size, o))
        from_base(s, f, name, &info, size, o);
}

/* ---- delivering results (guest thread) ---- */

static void count_outcome(struct blob_store *s, const struct outcome *o)
{
    if (o->transferred) {
        s->stats.fetches++;
        s->stats.fetched_bytes += o->transferred_bytes;
    }
    if (o->from_disk)
        s->stats.disk_hits++;
    if (o->disk_write_error && !s->disk_warned) {
        s->disk_warned = true;
        log_line(s, "cache dir %s: cannot write (%s); blobs are not kept on disk",
                 s->cache_dir, strerror(o->disk_write_error));
    }
}

static void wake_all(struct blob_store *s, struct waiter *w, int err)
{
    while (w) {
        struct waiter *next = w->next;
        if (err == EIO)
            s->stats.failures++;
        w->wake(w->arg, err);
        free(w);
        w = next;
    }
}

/* Puts an outcome into entry e, which no job is out for any more, and wakes
 * whoever waits on it. 0 if the blob is cached now, else EIO. */
static int settle(struct blob_store *s, struct entry *e, struct outcome *o)
{
    e->pending = false;
    if (o->ok && !e->data)
        keep_data(s, e, o->data);
    else
        free(o->data);
    int err = e->data ? 0 : EIO;
    if (err && o->line[0])
        log_line(s, "%s", o->line);
    struct waiter *waiters = e->waiters;
    e->waiters = NULL;
    if (err)
        entry_remove(s, e);
    wake_all(s, waiters, err);
    return err;
}

static void deliver(struct blob_store *s, struct job *job)
{
    count_outcome(s, &job->outcome);
    struct entry *e = find(s, job->name);
    if (e)
        settle(s, e, &job->outcome);
    else
        free(job->outcome.data);
    free(job);
}

static void drain(void *arg)
{
    struct blob_store *s = arg;
    pthread_mutex_lock(&s->lock);
    struct job *jobs = s->done.head;
    s->done = (struct job_list){ 0 };
    s->drain_posted = false;
    pthread_mutex_unlock(&s->lock);
    log_progress(s);
    while (jobs) {
        struct job *next = jobs->next;
        deliver(s, jobs);
        jobs = next;
    }
}

/* Called with lock held: asks for a drain unless one is on its way or the
 * store is being freed. */
static void post_drain_locked(struct blob_store *s)
{
    if (s->stopping || s->drain_posted)
        return;
    s->drain_posted = true;
    s->cfg.post(s->cfg.post_ctx, drain, s);
}

/* ---- workers ---- */

static void job_push(struct job_list *l, struct job *j)
{
    j->next = NULL;
    *(l->tail ? &l->tail->next : &l->head) = j;
    l->tail = j;
}

static struct job *job_pop(struct job_list *l)
{
    struct job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
    }
    return j;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct blob_store *s = w->s;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stopping && !s->queue.head)
            pthread_cond_wait(&s->work, &s->lock);
        if (s->stopping)
            break;
        struct job *job = job_pop(&s->queue);
        pthread_mutex_unlock(&s->lock);
        obtain(s, w->fetcher, job->name, job->size, &job->outcome);
        pthread_mutex_lock(&s->lock);
        job_push(&s->done, job);
        post_drain_locked(s);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* A pending entry for `name` with its job queued, or NULL (logged). */
static struct entry *start_job(struct blob_store *s, const char *name, uint64_t size)
{
    size_t len = strlen(name);
    struct job *job = calloc(1, sizeof *job + len + 1);
    struct entry *e = job ? entry_add(s, name, size) : NULL;
    if (!e) {
        free(job);
        log_line(s, "%s: out of memory", name);
        return NULL;
    }
    memcpy(job->name, name, len + 1);
    job->size = size;
    e->pending = true;
    pthread_mutex_lock(&s->lock);
    job_push(&s->queue, job);
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    return e;
}

/* ---- the guest thread's entry points ---- */

/* Fetches on the calling (guest) thread. 0 or EIO. */
static int fetch_inline(struct blob_store *s, const char *name, uint64_t size)
{
    struct outcome o;
    obtain(s, s->inline_fetcher, name, size, &o);
    count_outcome(s, &o);
    struct entry *e = find(s, name);
    if (!e && !(e = entry_add(s, name, size))) {
        free(o.data);
        log_line(s, "%s: out of memory", name);
        return EIO;
    }
    if (!e->pending)
        return settle(s, e, &o);
    /* A job is out for it too: its delivery wakes the waiters. */
    if (o.ok && !e->data)
        keep_data(s, e, o.data);
    else
        free(o.data);
    if (!o.ok && o.line[0])
        log_line(s, "%s", o.line);
    return o.ok ? 0 : EIO;
}

/* Is this a blob we may ask for? Logs why not. */
static bool acceptable(const struct blob_store *s, const char *name, uint64_t size)
{
    struct blob_name_info info;
    char shown[BLOB_NAME_MAX + 1];
    if (!blob_name_parse(name, &info)) {
        quote_name(name, shown, sizeof shown);
        log_line(s, "\"%s\": refused (not a plain relative blob name)", shown);
        return false;
    }
    if (size > MAX_BLOB_SIZE) {
        log_line(s, "%s: refused (the index gives it %llu bytes)", name, (unsigned long long)size);
        return false;
    }
    return true;
}

/* 0 if the blob is cached (now the most recent), EIO if it must not be
 * fetched, P9_PENDING if it is not cached; *found is its entry, if any. */
static int lookup(struct blob_store *s, const char *name, uint64_t size, struct entry **found)
{
    *found = NULL;
    if (!acceptable(s, name, size))
        return EIO;
    struct entry *e = find(s, name);
    if (e && e->size != size) {
        log_line(s, "%s: listed with two sizes (%llu and %llu bytes)", name,
                 (unsigned long long)e->size, (unsigned long long)size);
        return EIO;
    }
    *found = e;
    if (e && e->data) {
        lru_touch(s, e);
        return 0;
    }
    return P9_PENDING;
}

static int add_waiter(struct blob_store *s, struct entry *e, p9_wake_fn wake, void *arg)
{
    struct waiter *w = malloc(sizeof *w);
    if (!w) {
        log_line(s, "%s: out of memory", e->name);
        return EIO;
    }
    *w = (struct waiter){ e->waiters, wake, arg };
    e->waiters = w;
    return P9_PENDING;
}

static int prepare(struct blob_store *s, const char *name, uint64_t size, p9_wake_fn wake,
                   void *arg)
{
    struct entry *e;
    int rc = lookup(s, name, size, &e);
    if (rc == 0)
        s->stats.cache_hits++;
    if (rc != P9_PENDING)
        return rc;
    if (s->cfg.synchronous)
        return fetch_inline(s, name, size);
    if (!e && !(e = start_job(s, name, size)))
        return EIO;
    return add_waiter(s, e, wake, arg);
}

int blob_store_prepare(struct blob_store *s, const char *name, uint64_t size, p9_wake_fn wake,
                       void *arg)
{
    int rc = prepare(s, name, size, wake, arg);
    if (rc == EIO)
        s->stats.failures++;
    return rc;
}

int blob_store_read(struct blob_store *s, const char *name, uint64_t off, void *buf,
                    uint32_t count, uint32_t *done)
{
    *done = 0;
    struct entry *e = find(s, name);
    if (!e || !e->data)
        return EIO;
    lru_touch(s, e);
    if (off < e->size) {
        uint64_t left = e->size - off;
        *done = left < count ? (uint32_t)left : count;
        memcpy(buf, e->data + off, *done);
    }
    return 0;
}

int blob_store_fetch_now(struct blob_store *s, const char *name, uint64_t size)
{
    struct entry *e;
    int rc = lookup(s, name, size, &e);
    return rc == P9_PENDING ? fetch_inline(s, name, size) : rc;
}

void blob_store_prefetch(struct blob_store *s, const char *name, uint64_t size)
{
    struct entry *e;
    if (lookup(s, name, size, &e) != P9_PENDING)
        return;
    if (s->cfg.synchronous)
        fetch_inline(s, name, size);
    else if (!e)
        start_job(s, name, size);
}

void blob_store_get_stats(const struct blob_store *s, struct blob_store_stats *out)
{
    *out = s->stats;
    out->cached_bytes = s->cached_bytes;
}

/* ---- making and freeing a store ---- */

/* The base as a prefix for names: a URL or directory ending in '/'. */
static char *base_prefix(const char *base, char *err, size_t err_size)
{
    if (!base || !base[0]) {
        snprintf(err, err_size, "fs-json: no base URL or directory for the blobs");
        return NULL;
    }
    if (blob_is_url(base)) {
        if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0 &&
            strncasecmp(base, "file://", 7) != 0) {
            snprintf(err, err_size, "fs-json: base %s: only http://, https:// and file:// URLs",
                     base);
            return NULL;
        }
    } else {
        struct stat st;
        if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "fs-json: base %s: not a URL or a directory", base);
            return NULL;
        }
    }
    char *prefix = concat(base, base[strlen(base) - 1] == '/' ? "" : "/", "");
    if (!prefix)
        snprintf(err, err_size, "fs-json: out of memory");
    return prefix;
}

static void fill_defaults(struct blob_store_config *c)
{
    if (!c->cache_bytes)
        c->cache_bytes = DEFAULT_CACHE_BYTES;
    if (!c->max_tries)
        c->max_tries = 4;
    if (!c->first_backoff_ms)
        c->first_backoff_ms = BLOB_FETCH_FIRST_BACKOFF_MS;
    if (!c->timeout_ms)
        c->timeout_ms = 30000;
    if (!c->workers)
        c->workers = 4;
    if (c->workers > MAX_WORKERS)
        c->workers = MAX_WORKERS;
}

static bool start_workers(struct blob_store *s, char *err, size_t err_size)
{
    s->workers = calloc(s->cfg.workers, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, err_size, "fs-json: out of memory");
        return false;
    }
    for (unsigned i = 0; i < s->cfg.workers; i++) {
        struct worker *w = &s->workers[i];
        s->nworkers++;
        w->s = s;
        w->ctx = (struct fetch_ctx){ s, false };
        w->fetcher = blob_fetcher_new(&s->stop, on_progress, &w->ctx);
        if (!w->fetcher || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, err_size, "fs-json: cannot start fetch thread %u", i);
            return false;
        }
        w->started = true;
    }
    return true;
}

struct blob_store *blob_store_new(const struct blob_store_config *cfg, char *err, size_t err_size)
{
    if (!cfg->synchronous && !cfg->post) {
        snprintf(err, err_size, "fs-json: blob store needs a post function unless synchronous");
        return NULL;
    }
    struct blob_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "fs-json: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    fill_defaults(&s->cfg);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    blob_stop_init(&s->stop);
    s->nbuckets = 64;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    s->base = base_prefix(cfg->base, err, err_size);
    s->cfg.base = s->base;
    s->cache_dir = cfg->cache_dir ? strdup(cfg->cache_dir) : NULL;
    s->cfg.cache_dir = s->cache_dir;
    s->inline_ctx = (struct fetch_ctx){ s, true };
    s->inline_fetcher = blob_fetcher_new(&s->stop, on_progress, &s->inline_ctx);
    bool ok = s->base && (!cfg->cache_dir || (s->cache_dir && blob_disk_cache_open(s->cache_dir, err,
                                                                              err_size)));
    if (ok && (!s->buckets || !s->inline_fetcher || (cfg->cache_dir && !s->cache_dir))) {
        snprintf(err, err_size, "fs-json: cannot set up the blob store (out of memory)");
        ok = false;
    }
    if (ok && !cfg->synchronous)
        ok = start_workers(s, err, err_size);
    if (!ok) {
        blob_store_free(s);
        return NULL;
    }
    return s;
}

static void stop_workers(struct blob_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    blob_stop_set(&s->stop);
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
        blob_fetcher_free(s->workers[i].fetcher);
    }
    free(s->workers);
}

static void free_jobs(struct job_list *l)
{
    for (struct job *j; (j = job_pop(l));) {
        free(j->outcome.data);
        free(j);
    }
}

/* Every waiter gets ECANCELED; then every entry is freed. */
static void free_entries(struct blob_store *s)
{
    struct waiter *cancelled = NULL;
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
        for (struct entry *e = s->buckets[i], *next; e; e = next) {
            next = e->hash_next;
            while (e->waiters) {
                struct waiter *w = e->waiters;
                e->waiters = w->next;
                w->next = cancelled;
                cancelled = w;
            }
            free(e->data);
            free(e);
        }
    }
    wake_all(s, cancelled, ECANCELED);
    free(s->buckets);
}

void blob_store_free(struct blob_store *s)
{
    if (!s)
        return;
    stop_workers(s);
    free_jobs(&s->queue);
    free_jobs(&s->done);
    free_entries(s);
    blob_fetcher_free(s->inline_fetcher);
    blob_stop_destroy(&s->stop);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->lock);
    free(s->base);
    free(s->cache_dir);
    free(s);
}
