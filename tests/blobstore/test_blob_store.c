/* test_blob_store.c — Check tests for the fs.json blob store
 * (fs9p/blob_store.c and fs9p/blob_fetch.c).
 *
 * Each test fills a scratch directory with blobs named as v86 names them,
 * serves it with tests/blobstore/blob_server.py (its path in $BLOB_SERVER),
 * some blobs made to fail on purpose, and checks what the store does: the
 * bytes reads return, the wakes and their errors, the log lines, the
 * statistics, and the requests the server saw (counted in its log). The
 * store's `post` is a small queue that the test thread drains while it
 * waits, as the machine's run loop would.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "fs9p/blob_name.h"
#include "fs9p/blob_store.h"

#define WAIT_MS 20000u

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* ---- the embedder's side: a post queue, a log, wakes ---- */

struct posted {
    struct posted *next;
    void (*fn)(void *);
    void *arg;
};

struct postq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct posted *head, *tail;
    unsigned posts;
};

static void test_post(void *ctx, void (*fn)(void *), void *arg)
{
    struct postq *q = ctx;
    struct posted *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&q->lock);
    *(q->tail ? &q->tail->next : &q->head) = p;
    q->tail = p;
    q->posts++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

static struct posted *postq_take(struct postq *q, unsigned wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)wait_ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&q->lock);
    int rc = 0;
    while (!q->head && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->cond, &q->lock, &until);
    struct posted *p = q->head;
    if (p) {
        q->head = p->next;
        if (!q->head)
            q->tail = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return p;
}

/* What the embedder does after blob_store_free: drops what is left. */
static unsigned postq_drop(struct postq *q)
{
    unsigned dropped = 0;
    for (struct posted *p; (p = postq_take(q, 0)); dropped++)
        free(p);
    return dropped;
}

struct logbuf {
    char text[32768];
    size_t len;
    unsigned lines;
    pthread_t guest;
    bool off_thread;               /* a line came from another thread */
};

static void test_log(void *ctx, const char *line)
{
    struct logbuf *l = ctx;
    if (!pthread_equal(pthread_self(), l->guest))
        l->off_thread = true;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (n > 0 && l->len + (size_t)n < sizeof l->text)
        l->len += (size_t)n;
    l->lines++;
}

static unsigned log_count(const struct logbuf *l, const char *needle)
{
    unsigned n = 0;
    for (const char *p = l->text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

struct wake_rec {
    int calls;
    int err;
};

static void record_wake(void *arg, int err)
{
    struct wake_rec *w = arg;
    w->calls++;
    w->err = err;
}

/* ---- a scratch directory, its server and its blobs ---- */

struct env {
    char dir[128];                 /* scratch: root/, cache/, server.log */
    char root[160];                /* what the server serves */
    char base[64];                 /* http://127.0.0.1:PORT */
    pid_t server;
    struct postq q;
    struct logbuf log;
};

static void env_init(struct env *e)
{
    memset(e, 0, sizeof *e);
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof e->dir, "%s/blobstore-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->root, sizeof e->root, "%s/root", e->dir);
    ck_assert_int_eq(mkdir(e->root, 0755), 0);
    pthread_mutex_init(&e->q.lock, NULL);
    pthread_cond_init(&e->q.cond, NULL);
    e->log.guest = pthread_self();
}

static void path_in(const struct env *e, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", e->dir, name);
}

/* Starts blob_server.py on root with extra arguments (NULL-terminated). */
static void env_serve(struct env *e, const char *const *extra)
{
    const char *script = getenv("BLOB_SERVER");
    ck_assert_msg(script && *script, "BLOB_SERVER must name tests/blobstore/blob_server.py");
    char port_file[200], log_path[200];
    path_in(e, "port", port_file, sizeof port_file);
    path_in(e, "server.log", log_path, sizeof log_path);
    unlink(port_file);
    const char *argv[32] = { "python3", script, "--root", e->root, "--port-file", port_file };
    size_t argc = 6;
    for (size_t i = 0; extra && extra[i] && argc + 1 < 32; i++)
        argv[argc++] = extra[i];
    e->server = fork();
    ck_assert_int_ge(e->server, 0);
    if (e->server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execvp("python3", (char **)argv);
        _exit(127);
    }
    uint64_t end = now_ms() + WAIT_MS;
    int port = 0;
    while (!port && now_ms() < end) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        ck_assert_int_eq(waitpid(e->server, NULL, WNOHANG), 0);
        usleep(20000);
    }
    ck_assert_msg(port > 0, "blob_server.py did not start");
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d", port);
}

static void env_stop_server(struct env *e)
{
    if (e->server > 0) {
        kill(e->server, SIGTERM);
        waitpid(e->server, NULL, 0);
    }
    e->server = 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void env_done(struct env *e)
{
    env_stop_server(e);
    postq_drop(&e->q);
    ck_assert_msg(!e->log.off_thread, "a log line came from a worker thread");
    nftw(e->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Lines of the server's log that are `line` (whole) or start with it. */
static unsigned server_log_count(const struct env *e, const char *line, bool whole)
{
    char log_path[200], got[512];
    path_in(e, "server.log", log_path, sizeof log_path);
    FILE *f = fopen(log_path, "r");
    unsigned n = 0;
    while (f && fgets(got, sizeof got, f))
        n += whole ? strcmp(got, line) == 0 : strncmp(got, line, strlen(line)) == 0;
    if (f)
        fclose(f);
    return n;
}

/* Requests for /name the server has seen so far. */
static unsigned requests_for(const struct env *e, const char *name)
{
    char want[300];
    snprintf(want, sizeof want, "blob-server: GET /%s\n", name);
    return server_log_count(e, want, true);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    if (slash > path + strlen(dir)) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Bytes that do not compress, from a seed. */
static uint8_t *random_bytes(size_t len, uint32_t seed)
{
    uint8_t *p = malloc(len + 1);
    ck_assert_ptr_nonnull(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static uint8_t *text_bytes(size_t len)
{
    uint8_t *p = malloc(len + 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)("the quick brown fox jumps over the lazy dog\n"[i % 44] + (i / 4096) % 3);
    return p;
}

enum blob_kind { KIND_BIN, KIND_ZST, KIND_LEGACY };

/* Compressed as one zstd frame, or as two frames one after the other. */
static size_t zstd_encode(const uint8_t *data, size_t len, bool two_frames, uint8_t **out)
{
    size_t half = two_frames ? len / 2 : len;
    size_t cap = ZSTD_compressBound(half) + ZSTD_compressBound(len - half);
    *out = malloc(cap);
    ck_assert_ptr_nonnull(*out);
    size_t a = ZSTD_compress(*out, cap, data, half, 19);
    ck_assert(!ZSTD_isError(a));
    size_t b = 0;
    if (two_frames) {
        b = ZSTD_compress(*out + a, cap - a, data + half, len - half, 3);
        ck_assert(!ZSTD_isError(b));
    }
    return a + b;
}

/* Writes `data` into the served root under its v86 name (returned in name);
 * returns the number of bytes written (the compressed size for .zst). */
static size_t put_blob(struct env *e, const uint8_t *data, size_t len, enum blob_kind kind,
                       char name[80])
{
    uint8_t digest[32];
    ck_assert(blob_sha256(data, len, digest));
    if (kind == KIND_LEGACY) {
        for (int i = 0; i < 32; i++)
            snprintf(name + 2 * i, 3, "%02x", digest[i]);
    } else {
        blob_name_for(digest, kind == KIND_ZST, name, 80);
    }
    if (kind != KIND_ZST) {
        write_file(e->root, name, data, len);
        return len;
    }
    uint8_t *z;
    size_t zlen = zstd_encode(data, len, false, &z);
    write_file(e->root, name, z, zlen);
    free(z);
    return zlen;
}

/* A random plain blob of len bytes served with --fail NAME=mode; its bytes. */
static uint8_t *serve_failing_blob(struct env *e, size_t len, uint32_t seed, const char *mode,
                                   char name[80])
{
    uint8_t *data = random_bytes(len, seed);
    put_blob(e, data, len, KIND_BIN, name);
    char fail[128];
    snprintf(fail, sizeof fail, "%s=%s", name, mode);
    env_serve(e, (const char *[]){ "--fail", fail, NULL });
    return data;
}

/* ---- driving a store ---- */

static struct blob_store_config env_config(struct env *e)
{
    return (struct blob_store_config){
        .base = e->base,
        .max_tries = 3,
        .first_backoff_ms = 50,
        .timeout_ms = 5000,
        .post = test_post,
        .post_ctx = &e->q,
        .log = test_log,
        .log_ctx = &e->log,
    };
}

static struct blob_store *new_store(const struct blob_store_config *cfg)
{
    char err[256] = "";
    struct blob_store *s = blob_store_new(cfg, err, sizeof err);
    ck_assert_msg(s != NULL, "blob_store_new: %s", err);
    return s;
}

/* Runs one posted function, waiting for it up to 50 ms. */
static void run_posted(struct env *e)
{
    struct posted *p = postq_take(&e->q, 50);
    if (p) {
        p->fn(p->arg);
        free(p);
    }
}

/* Runs posted functions until *counter reaches target (false: timed out). */
static bool run_until(struct env *e, const int *counter, int target, unsigned max_ms)
{
    uint64_t end = now_ms() + max_ms;
    while (*counter < target) {
        if (now_ms() > end)
            return false;
        run_posted(e);
    }
    return true;
}

/* prepare, and if it must wait, wait for the wake: 0 or an errno. */
static int prepare_wait(struct env *e, struct blob_store *s, const char *name, uint64_t size)
{
    struct wake_rec w = { 0 };
    int rc = blob_store_prepare(s, name, size, record_wake, &w);
    if (rc != P9_PENDING)
        return rc;
    ck_assert_msg(run_until(e, &w.calls, 1, WAIT_MS), "no wake for %s", name);
    ck_assert_int_eq(w.calls, 1);
    return w.err;
}

/* Reads the blob back in odd-sized pieces and compares. */
static void expect_contents(struct blob_store *s, const char *name, const uint8_t *data,
                            size_t len)
{
    uint8_t buf[3001];
    uint64_t off = 0;
    uint32_t done = 0;
    do {
        ck_assert_int_eq(blob_store_read(s, name, off, buf, sizeof buf, &done), 0);
        ck_assert_uint_le(off + done, len);
        ck_assert_mem_eq(buf, data + off, done);
        off += done;
    } while (done);
    ck_assert_uint_eq(off, len);
    ck_assert_int_eq(blob_store_read(s, name, len + 100, buf, sizeof buf, &done), 0);
    ck_assert_uint_eq(done, 0);
}

static bool is_cached(struct blob_store *s, const char *name)
{
    uint8_t b;
    uint32_t done;
    return blob_store_read(s, name, 0, &b, 1, &done) == 0;
}

static struct blob_store_stats stats_of(const struct blob_store *s)
{
    struct blob_store_stats st;
    blob_store_get_stats(s, &st);
    return st;
}

/* ---- reading and caching ---- */

START_TEST(cached_read)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(10000, 1);
    char name[80];
    put_blob(&e, data, 10000, KIND_BIN, name);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    struct wake_rec w = { 0 };
    ck_assert_int_eq(blob_store_prepare(s, name, 10000, record_wake, &w), P9_PENDING);
    ck_assert(!is_cached(s, name));
    ck_assert(run_until(&e, &w.calls, 1, WAIT_MS));
    ck_assert_int_eq(w.err, 0);
    expect_contents(s, name, data, 10000);
    struct blob_store_stats st = stats_of(s);
    ck_assert_uint_eq(st.fetches, 1);
    ck_assert_uint_eq(st.fetched_bytes, 10000);
    ck_assert_uint_eq(st.cached_bytes, 10000);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_eq(e.log.lines, 0);
    blob_store_free(s);
    ck_assert_int_eq(w.calls, 1);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(two_waiters_one_fetch)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(50000, 2);
    char name[80];
    put_blob(&e, data, 50000, KIND_BIN, name);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    struct wake_rec w1 = { 0 }, w2 = { 0 };
    ck_assert_int_eq(blob_store_prepare(s, name, 50000, record_wake, &w1), P9_PENDING);
    ck_assert_int_eq(blob_store_prepare(s, name, 50000, record_wake, &w2), P9_PENDING);
    ck_assert(run_until(&e, &w1.calls, 1, WAIT_MS));
    ck_assert(run_until(&e, &w2.calls, 1, WAIT_MS));
    ck_assert_int_eq(w1.err, 0);
    ck_assert_int_eq(w2.err, 0);
    ck_assert_uint_eq(requests_for(&e, name), 1);
    ck_assert_uint_eq(stats_of(s).fetches, 1);
    expect_contents(s, name, data, 50000);
    blob_store_free(s);
    ck_assert_int_eq(w1.calls + w2.calls, 2);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(reopen_is_a_cache_hit)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(4096, 3);
    char name[80];
    put_blob(&e, data, 4096, KIND_BIN, name);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 4096), 0);
    for (int open = 0; open < 3; open++) {
        struct wake_rec w = { 0 };
        ck_assert_int_eq(blob_store_prepare(s, name, 4096, record_wake, &w), 0);
        ck_assert_int_eq(w.calls, 0);
        expect_contents(s, name, data, 4096);
    }
    ck_assert_uint_eq(requests_for(&e, name), 1);
    ck_assert_uint_eq(stats_of(s).cache_hits, 3);
    ck_assert_uint_eq(stats_of(s).fetches, 1);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(eviction_keeps_the_bound)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    char a[80], b[80], c[80], big[80];
    uint8_t *da = random_bytes(1500, 10), *db = random_bytes(1500, 11);
    uint8_t *dc = random_bytes(1500, 12), *dbig = random_bytes(5000, 13);
    put_blob(&e, da, 1500, KIND_BIN, a);
    put_blob(&e, db, 1500, KIND_BIN, b);
    put_blob(&e, dc, 1500, KIND_BIN, c);
    put_blob(&e, dbig, 5000, KIND_BIN, big);
    struct blob_store_config cfg = env_config(&e);
    cfg.cache_bytes = 3000;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, a, 1500), 0);
    ck_assert_int_eq(prepare_wait(&e, s, b, 1500), 0);
    ck_assert_uint_eq(stats_of(s).cached_bytes, 3000);
    expect_contents(s, a, da, 1500); /* a is now more recent than b */
    ck_assert_int_eq(prepare_wait(&e, s, c, 1500), 0);
    ck_assert(!is_cached(s, b));
    expect_contents(s, a, da, 1500);
    expect_contents(s, c, dc, 1500);
    ck_assert_uint_eq(stats_of(s).cached_bytes, 3000);
    /* one blob bigger than the bound stays, alone, until the next insert */
    ck_assert_int_eq(prepare_wait(&e, s, big, 5000), 0);
    ck_assert(!is_cached(s, a) && !is_cached(s, c));
    expect_contents(s, big, dbig, 5000);
    ck_assert_uint_eq(stats_of(s).cached_bytes, 5000);
    ck_assert_int_eq(prepare_wait(&e, s, a, 1500), 0);
    ck_assert(!is_cached(s, big));
    ck_assert_uint_eq(stats_of(s).cached_bytes, 1500);
    ck_assert_uint_eq(requests_for(&e, a), 2);
    ck_assert_uint_eq(requests_for(&e, b), 1);
    blob_store_free(s);
    free(da);
    free(db);
    free(dc);
    free(dbig);
    env_done(&e);
}
END_TEST

/* ---- the v86 name forms ---- */

START_TEST(zstd_blobs_decompress_to_exactly_size)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    size_t len = 200000;
    uint8_t *data = text_bytes(len);
    char name[80];
    size_t zlen = put_blob(&e, data, len, KIND_ZST, name);
    ck_assert_uint_lt(zlen, len / 4);
    ck_assert_ptr_nonnull(strstr(name, ".bin.zst"));
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    /* the index's size must be the decompressed size, exactly */
    ck_assert_int_eq(prepare_wait(&e, s, name, len - 1), EIO);
    ck_assert_uint_eq(log_count(&e.log, "corrupt (decompresses to more than"), 1);
    ck_assert_int_eq(prepare_wait(&e, s, name, len + 1), EIO);
    ck_assert_uint_eq(log_count(&e.log, "corrupt (decompresses to 200000 bytes, not 200001)"), 1);
    ck_assert_int_eq(prepare_wait(&e, s, name, len), 0);
    expect_contents(s, name, data, len);
    ck_assert_uint_eq(stats_of(s).fetched_bytes, 3 * zlen);
    /* content in two zstd frames, one after the other, is one blob */
    uint8_t *z;
    size_t z2len = zstd_encode(data, len, true, &z);
    write_file(e.root, name, z, z2len);
    free(z);
    blob_store_free(s);
    s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, len), 0);
    expect_contents(s, name, data, len);
    ck_assert_uint_eq(e.log.lines, 2);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(legacy_full_hash_names_are_verified)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(3000, 20), *other = random_bytes(3000, 21);
    char name[80], wrong[80];
    put_blob(&e, data, 3000, KIND_LEGACY, name);
    ck_assert_uint_eq(strlen(name), 64);
    put_blob(&e, other, 3000, KIND_LEGACY, wrong);
    write_file(e.root, wrong, data, 3000); /* right size, wrong contents */
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 3000), 0);
    expect_contents(s, name, data, 3000);
    ck_assert_int_eq(prepare_wait(&e, s, wrong, 3000), EIO);
    ck_assert_uint_eq(log_count(&e.log, "corrupt (SHA-256 does not match its name)"), 1);
    blob_store_free(s);
    free(data);
    free(other);
    env_done(&e);
}
END_TEST

START_TEST(opaque_names_are_fetched_as_they_are)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(777, 30);
    write_file(e.root, "sub/opaque-file.dat", data, 777);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, "sub/opaque-file.dat", 777), 0);
    expect_contents(s, "sub/opaque-file.dat", data, 777);
    ck_assert_uint_eq(requests_for(&e, "sub/opaque-file.dat"), 1);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

/* ---- failures ---- */

START_TEST(not_found_fails_at_once)
{
    struct env e;
    env_init(&e);
    char name[80];
    uint8_t *data = serve_failing_blob(&e, 100, 40, "404", name);
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 4;
    cfg.first_backoff_ms = 1000; /* a retry would show in the time taken */
    struct blob_store *s = new_store(&cfg);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(prepare_wait(&e, s, name, 100), EIO);
    ck_assert_int_eq(prepare_wait(&e, s, "0badc0de.bin", 5), EIO);
    ck_assert_uint_lt(now_ms() - t0, 1000);
    ck_assert_uint_eq(requests_for(&e, name), 1);
    ck_assert_uint_eq(requests_for(&e, "0badc0de.bin"), 1);
    ck_assert_uint_eq(e.log.lines, 2);
    char want[200];
    snprintf(want, sizeof want, "fs-json: %s/%s: 404 Not Found\n", e.base, name);
    ck_assert_msg(strstr(e.log.text, want), "log was: %s", e.log.text);
    ck_assert_uint_eq(stats_of(s).failures, 2);
    /* a failed blob is tried again by the next prepare */
    ck_assert_int_eq(prepare_wait(&e, s, name, 100), EIO);
    ck_assert_uint_eq(requests_for(&e, name), 2);
    ck_assert_uint_eq(e.log.lines, 3);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(service_unavailable_is_retried)
{
    struct env e;
    env_init(&e);
    char name[80];
    uint8_t *data = serve_failing_blob(&e, 2000, 50, "503x2", name);
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 4;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 2000), 0);
    expect_contents(s, name, data, 2000);
    ck_assert_uint_eq(requests_for(&e, name), 3);
    ck_assert_uint_eq(e.log.lines, 0);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(service_unavailable_gives_up_after_max_tries)
{
    struct env e;
    env_init(&e);
    char name[80];
    uint8_t *data = serve_failing_blob(&e, 2000, 51, "503x1000", name);
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 3;
    cfg.first_backoff_ms = 100;
    struct blob_store *s = new_store(&cfg);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(prepare_wait(&e, s, name, 2000), EIO);
    ck_assert_uint_ge(now_ms() - t0, 300); /* backed off 100 then 200 ms */
    ck_assert_uint_eq(requests_for(&e, name), 3);
    ck_assert_uint_eq(e.log.lines, 1);
    ck_assert_uint_eq(log_count(&e.log, ": 503 Service Unavailable; gave up after 3 tries\n"), 1);
    ck_assert_uint_eq(log_count(&e.log, "server"), 0); /* it answered: not down */
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(corrupt_blobs_fail)
{
    struct env e;
    env_init(&e);
    uint8_t *data = random_bytes(5000, 60), *text = text_bytes(40000);
    char name[80], zname[80];
    put_blob(&e, data, 5000, KIND_BIN, name);
    put_blob(&e, text, 40000, KIND_ZST, zname);
    char fail1[128], fail2[128];
    snprintf(fail1, sizeof fail1, "%s=corrupt", name);
    snprintf(fail2, sizeof fail2, "%s=corrupt", zname);
    env_serve(&e, (const char *[]){ "--fail", fail1, "--fail", fail2, NULL });
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 5000), EIO);
    ck_assert_int_eq(prepare_wait(&e, s, zname, 40000), EIO);
    char want[160];
    snprintf(want, sizeof want, "fs-json: %s: corrupt (SHA-256 does not match its name)\n", name);
    ck_assert_msg(strstr(e.log.text, want), "log was: %s", e.log.text);
    snprintf(want, sizeof want, "fs-json: %s: corrupt (", zname);
    ck_assert_msg(strstr(e.log.text, want), "log was: %s", e.log.text);
    ck_assert_uint_eq(e.log.lines, 2);
    ck_assert_uint_eq(requests_for(&e, name), 1); /* not retried */
    ck_assert(!is_cached(s, name));
    blob_store_free(s);
    free(data);
    free(text);
    env_done(&e);
}
END_TEST

START_TEST(size_mismatch_fails)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(100, 70);
    char name[80];
    put_blob(&e, data, 100, KIND_BIN, name);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 101), EIO);
    ck_assert_uint_eq(log_count(&e.log, "size mismatch (100 bytes, the index says 101)"), 1);
    ck_assert_int_eq(prepare_wait(&e, s, name, 99), EIO);
    ck_assert_uint_eq(log_count(&e.log, "size mismatch (larger than 99 bytes)"), 1);
    ck_assert_int_eq(prepare_wait(&e, s, name, 100), 0);
    /* once cached, the same name with another size is refused */
    ck_assert_int_eq(prepare_wait(&e, s, name, 50), EIO);
    ck_assert_uint_eq(log_count(&e.log, "listed with two sizes"), 1);
    /* a size nothing could hold is refused before any request */
    ck_assert_int_eq(prepare_wait(&e, s, "0badc0de.bin", UINT64_MAX), EIO);
    ck_assert_uint_eq(log_count(&e.log, "0badc0de.bin: refused (the index gives it"), 1);
    ck_assert_uint_eq(requests_for(&e, "0badc0de.bin"), 0);
    ck_assert_uint_eq(e.log.lines, 4);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(hung_server_times_out)
{
    struct env e;
    env_init(&e);
    char name[80];
    uint8_t *data = serve_failing_blob(&e, 100, 80, "hang", name);
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 2;
    cfg.timeout_ms = 300;
    struct blob_store *s = new_store(&cfg);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(prepare_wait(&e, s, name, 100), EIO);
    uint64_t took = now_ms() - t0;
    ck_assert_uint_ge(took, 600);
    ck_assert_uint_lt(took, 5000);
    ck_assert_uint_eq(requests_for(&e, name), 2);
    ck_assert_uint_eq(log_count(&e.log, "timed out (nothing for 300 ms); gave up after 2 tries"), 1);
    ck_assert_uint_eq(e.log.lines, 1);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(dead_server_is_tried_once_per_blob)
{
    struct env e;
    env_init(&e);
    char a[80], b[80], c[80];
    uint8_t *da = random_bytes(100, 90), *db = random_bytes(100, 91), *dc = random_bytes(100, 92);
    put_blob(&e, da, 100, KIND_BIN, a);
    put_blob(&e, db, 100, KIND_BIN, b);
    put_blob(&e, dc, 100, KIND_BIN, c);
    env_serve(&e, (const char *[]){ "--die-after", "1", NULL });
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 3;
    cfg.first_backoff_ms = 300;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, a, 100), 0);
    ck_assert_int_eq(waitpid(e.server, NULL, 0), e.server); /* it has exited */
    e.server = 0;
    uint64_t t0 = now_ms();
    ck_assert_int_eq(prepare_wait(&e, s, b, 100), EIO);
    ck_assert_uint_ge(now_ms() - t0, 900); /* 300 + 600 ms of back-off */
    ck_assert_uint_eq(log_count(&e.log, "connection refused; gave up after 3 tries; server marked down"), 1);
    t0 = now_ms();
    ck_assert_int_eq(prepare_wait(&e, s, c, 100), EIO);
    ck_assert_uint_lt(now_ms() - t0, 300); /* no back-off */
    ck_assert_uint_eq(log_count(&e.log, "connection refused (server down: tried once)"), 1);
    ck_assert_uint_eq(e.log.lines, 2);
    expect_contents(s, a, da, 100);
    blob_store_free(s);
    free(da);
    free(db);
    free(dc);
    env_done(&e);
}
END_TEST

START_TEST(server_down_mark_clears_when_a_blob_arrives)
{
    struct env e;
    env_init(&e);
    char good[80];
    uint8_t *data = random_bytes(100, 95);
    put_blob(&e, data, 100, KIND_BIN, good);
    const char *names[] = { "00000001.bin", "00000002.bin", "00000003.bin" };
    for (int i = 0; i < 3; i++)
        write_file(e.root, names[i], "x", 1);
    env_serve(&e, (const char *[]){ "--fail", "00000001.bin=reset", "--fail", "00000002.bin=reset",
                                    "--fail", "00000003.bin=reset", NULL });
    struct blob_store_config cfg = env_config(&e);
    cfg.max_tries = 3;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, names[0], 1), EIO);
    ck_assert_uint_eq(requests_for(&e, names[0]), 3);
    ck_assert_int_eq(prepare_wait(&e, s, names[1], 1), EIO);
    ck_assert_uint_eq(requests_for(&e, names[1]), 1);
    ck_assert_int_eq(prepare_wait(&e, s, good, 100), 0);
    ck_assert_int_eq(prepare_wait(&e, s, names[2], 1), EIO);
    ck_assert_uint_eq(requests_for(&e, names[2]), 3);
    ck_assert_uint_eq(log_count(&e.log, "connection reset; gave up after 3 tries; server marked down"), 2);
    ck_assert_uint_eq(log_count(&e.log, "connection reset (server down: tried once)"), 1);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(unsafe_names_are_never_requested)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    write_file(e.dir, "x", "secret", 6);
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    const char *bad[] = { "../x", "/etc/passwd", "a/../../x", "", "./x", "a//x", "a\\x",
                          "x\n.bin", "x?y", "%2e%2e/x" };
    size_t n = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < n; i++) {
        struct wake_rec w = { 0 };
        ck_assert_int_eq(blob_store_prepare(s, bad[i], 6, record_wake, &w), EIO);
        ck_assert_int_eq(blob_store_fetch_now(s, bad[i], 6), EIO);
        blob_store_prefetch(s, bad[i], 6);
        ck_assert_int_eq(w.calls, 0);
    }
    ck_assert_uint_eq(e.log.lines, 3 * n);
    ck_assert_uint_eq(log_count(&e.log, "refused (not a plain relative blob name)"), 3 * n);
    ck_assert_uint_eq(log_count(&e.log, "\"x\\x0a.bin\""), 3); /* printed escaped */
    ck_assert_uint_eq(e.q.posts, 0);
    ck_assert_uint_eq(server_log_count(&e, "blob-server: GET ", false), 0);
    ck_assert_uint_eq(stats_of(s).failures, n);
    blob_store_free(s);
    env_done(&e);
}
END_TEST

/* ---- the cache directory ---- */

START_TEST(disk_cache_serves_a_later_store)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(6000, 100), *text = text_bytes(30000);
    char name[80], zname[80], cache[200], path[400];
    put_blob(&e, data, 6000, KIND_BIN, name);
    size_t zlen = put_blob(&e, text, 30000, KIND_ZST, zname);
    write_file(e.root, "opaque.dat", data, 6000);
    path_in(&e, "cache", cache, sizeof cache);
    struct blob_store_config cfg = env_config(&e);
    cfg.cache_dir = cache;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 6000), 0);
    ck_assert_int_eq(prepare_wait(&e, s, zname, 30000), 0);
    ck_assert_int_eq(prepare_wait(&e, s, "opaque.dat", 6000), 0);
    ck_assert_uint_eq(stats_of(s).disk_hits, 0);
    blob_store_free(s);
    /* kept as it arrived (compressed), and opaque names are not kept */
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", cache, zname);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((uint64_t)st.st_size, zlen);
    snprintf(path, sizeof path, "%s/opaque.dat", cache);
    ck_assert_int_ne(stat(path, &st), 0);

    /* a second store, the server gone: everything hashed comes from disk */
    env_stop_server(&e);
    s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 6000), 0);
    ck_assert_int_eq(prepare_wait(&e, s, zname, 30000), 0);
    expect_contents(s, name, data, 6000);
    expect_contents(s, zname, text, 30000);
    ck_assert_uint_eq(stats_of(s).fetches, 0);
    ck_assert_uint_eq(stats_of(s).disk_hits, 2);
    ck_assert_int_eq(prepare_wait(&e, s, "opaque.dat", 6000), EIO);
    blob_store_free(s);

    /* a damaged copy on disk is fetched again and replaced */
    snprintf(path, sizeof path, "%s/%s", cache, name);
    write_file(cache, name, "garbage", 7);
    env_serve(&e, NULL);
    cfg.base = e.base;
    s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, 6000), 0);
    ck_assert_uint_eq(stats_of(s).fetches, 1);
    ck_assert_uint_eq(stats_of(s).disk_hits, 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((uint64_t)st.st_size, 6000);
    blob_store_free(s);
    free(data);
    free(text);
    env_done(&e);
}
END_TEST

/* ---- freeing, synchronous mode, the other entry points ---- */

START_TEST(free_cancels_fetches_in_flight)
{
    struct env e;
    env_init(&e);
    uint8_t *data = random_bytes(100, 110);
    char name[80], good[80];
    put_blob(&e, data, 100, KIND_BIN, name);
    put_blob(&e, data, 99, KIND_BIN, good);
    char fail[128];
    snprintf(fail, sizeof fail, "%s=hang", name);
    env_serve(&e, (const char *[]){ "--fail", fail, "--fail", "hung.bin=hang", NULL });
    struct blob_store_config cfg = env_config(&e);
    cfg.timeout_ms = 60000;
    cfg.workers = 2;
    struct blob_store *s = new_store(&cfg);
    struct wake_rec hung = { 0 }, done = { 0 }, queued = { 0 };
    /* one fetch whose result is posted but not yet delivered */
    ck_assert_int_eq(blob_store_prepare(s, good, 99, record_wake, &done), P9_PENDING);
    struct posted *p = postq_take(&e.q, WAIT_MS);
    ck_assert_ptr_nonnull(p);
    test_post(&e.q, p->fn, p->arg); /* put it back, undelivered */
    free(p);
    /* two hung fetches keep both workers busy; a third waits in the queue */
    ck_assert_int_eq(blob_store_prepare(s, name, 100, record_wake, &hung), P9_PENDING);
    blob_store_prefetch(s, "hung.bin", 1);
    ck_assert_int_eq(blob_store_prepare(s, "queued.bin", 1, record_wake, &queued), P9_PENDING);
    uint64_t end = now_ms() + WAIT_MS;
    while (requests_for(&e, name) == 0 && now_ms() < end)
        usleep(20000);
    ck_assert_uint_eq(requests_for(&e, name), 1);
    uint64_t t0 = now_ms();
    blob_store_free(s);
    ck_assert_uint_lt(now_ms() - t0, 1000);
    ck_assert_int_eq(hung.calls, 1);
    ck_assert_int_eq(hung.err, ECANCELED);
    ck_assert_int_eq(done.calls, 1);
    ck_assert_int_eq(done.err, ECANCELED);
    ck_assert_int_eq(queued.calls, 1);
    ck_assert_int_eq(queued.err, ECANCELED);
    ck_assert_uint_ge(postq_drop(&e.q), 1); /* dropped, never run */
    ck_assert_uint_eq(e.log.lines, 0);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(free_interrupts_a_back_off)
{
    struct env e;
    env_init(&e);
    env_serve(&e, (const char *[]){ "--fail", "00000000.bin=503x1000", NULL });
    write_file(e.root, "00000000.bin", "x", 1);
    struct blob_store_config cfg = env_config(&e);
    cfg.first_backoff_ms = 60000;
    struct blob_store *s = new_store(&cfg);
    struct wake_rec w = { 0 };
    ck_assert_int_eq(blob_store_prepare(s, "00000000.bin", 1, record_wake, &w), P9_PENDING);
    uint64_t end = now_ms() + WAIT_MS;
    while (requests_for(&e, "00000000.bin") == 0 && now_ms() < end)
        usleep(20000);
    usleep(100000); /* into the back-off */
    uint64_t t0 = now_ms();
    blob_store_free(s);
    ck_assert_uint_lt(now_ms() - t0, 1000);
    ck_assert_int_eq(w.calls, 1);
    ck_assert_int_eq(w.err, ECANCELED);
    ck_assert_uint_eq(requests_for(&e, "00000000.bin"), 1);
    ck_assert_uint_eq(e.log.lines, 0);
    env_done(&e);
}
END_TEST

START_TEST(synchronous_mode_fetches_inline)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    uint8_t *data = random_bytes(8000, 120);
    char name[80], other[80];
    put_blob(&e, data, 8000, KIND_BIN, name);
    put_blob(&e, data, 4000, KIND_BIN, other);
    struct blob_store_config cfg = env_config(&e);
    cfg.synchronous = true;
    cfg.post = NULL;
    struct blob_store *s = new_store(&cfg);
    struct wake_rec w = { 0 };
    ck_assert_int_eq(blob_store_prepare(s, name, 8000, record_wake, &w), 0);
    expect_contents(s, name, data, 8000);
    ck_assert_int_eq(blob_store_prepare(s, "0badc0de.bin", 8, record_wake, &w), EIO);
    ck_assert_msg(log_count(&e.log, "/0badc0de.bin: 404 Not Found") == 1, "log: %s", e.log.text);
    blob_store_prefetch(s, other, 4000);
    ck_assert(is_cached(s, other));
    ck_assert_int_eq(blob_store_prepare(s, other, 4000, record_wake, &w), 0);
    ck_assert_int_eq(w.calls, 0);
    ck_assert_uint_eq(e.q.posts, 0);
    ck_assert_uint_eq(requests_for(&e, other), 1);
    struct blob_store_stats st = stats_of(s);
    ck_assert_uint_eq(st.fetches, 2);
    ck_assert_uint_eq(st.cache_hits, 1);
    ck_assert_uint_eq(st.failures, 1);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(fetch_now_and_prefetch)
{
    struct env e;
    env_init(&e);
    uint8_t *data = random_bytes(3000, 130);
    char a[80], b[80], slow[80];
    put_blob(&e, data, 3000, KIND_BIN, a);
    put_blob(&e, data, 2000, KIND_BIN, b);
    put_blob(&e, data, 1000, KIND_BIN, slow);
    char fail[128];
    snprintf(fail, sizeof fail, "%s=slow", slow);
    env_serve(&e, (const char *[]){ "--fail", fail, NULL });
    struct blob_store_config cfg = env_config(&e);
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(blob_store_fetch_now(s, a, 3000), 0);
    expect_contents(s, a, data, 3000);
    ck_assert_int_eq(blob_store_fetch_now(s, a, 3000), 0);
    ck_assert_uint_eq(requests_for(&e, a), 1);
    /* a prefetched blob is there for the first prepare */
    blob_store_prefetch(s, b, 2000);
    uint64_t end = now_ms() + WAIT_MS;
    while (!is_cached(s, b) && now_ms() < end)
        run_posted(&e);
    struct wake_rec w = { 0 };
    ck_assert_int_eq(blob_store_prepare(s, b, 2000, record_wake, &w), 0);
    ck_assert_uint_eq(requests_for(&e, b), 1);
    /* fetch_now while a job for the same blob is out: both succeed */
    ck_assert_int_eq(blob_store_prepare(s, slow, 1000, record_wake, &w), P9_PENDING);
    ck_assert_int_eq(blob_store_fetch_now(s, slow, 1000), 0);
    expect_contents(s, slow, data, 1000);
    ck_assert(run_until(&e, &w.calls, 1, WAIT_MS));
    ck_assert_int_eq(w.err, 0);
    expect_contents(s, slow, data, 1000);
    ck_assert_uint_eq(e.log.lines, 0);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(long_downloads_report_progress)
{
    struct env e;
    env_init(&e);
    size_t len = 1 << 20;
    char name[80];
    uint8_t *data = serve_failing_blob(&e, len, 140, "slow", name);
    struct blob_store_config cfg = env_config(&e);
    cfg.progress = true;
    struct blob_store *s = new_store(&cfg);
    ck_assert_int_eq(prepare_wait(&e, s, name, len), 0);
    ck_assert_msg(strstr(e.log.text, "fs-json: downloading ") &&
                      strstr(e.log.text, " MiB in 1 file, ") && strstr(e.log.text, " MiB/s\n"),
                  "log was: %s", e.log.text);
    ck_assert_uint_le(e.log.lines, 2);
    blob_store_free(s);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(local_and_file_url_bases)
{
    struct env e;
    env_init(&e);
    uint8_t *data = random_bytes(2500, 150);
    char name[80], url[256];
    put_blob(&e, data, 2500, KIND_BIN, name);
    snprintf(url, sizeof url, "file://%s/", e.root);
    const char *bases[] = { e.root, url };
    for (int i = 0; i < 2; i++) {
        struct blob_store_config cfg = env_config(&e);
        cfg.base = bases[i];
        struct blob_store *s = new_store(&cfg);
        ck_assert_int_eq(prepare_wait(&e, s, name, 2500), 0);
        expect_contents(s, name, data, 2500);
        ck_assert_uint_eq(stats_of(s).fetches, 1);
        ck_assert_int_eq(prepare_wait(&e, s, "0badc0de.bin", 5), EIO);
        blob_store_free(s);
    }
    ck_assert_uint_eq(log_count(&e.log, "/0badc0de.bin: not found\n"), 2);
    ck_assert_uint_eq(e.log.lines, 2);
    free(data);
    env_done(&e);
}
END_TEST

START_TEST(bad_configurations_are_refused)
{
    struct env e;
    env_init(&e);
    char err[256], file[200];
    path_in(&e, "plain-file", file, sizeof file);
    write_file(e.dir, "plain-file", "x", 1);
    struct blob_store_config cfg = env_config(&e);
    const char *bases[] = { "ftp://example.org/", "/nonexistent/dir", file, "" };
    for (int i = 0; i < 4; i++) {
        cfg.base = bases[i];
        err[0] = '\0';
        ck_assert_ptr_null(blob_store_new(&cfg, err, sizeof err));
        ck_assert_msg(strncmp(err, "fs-json: ", 9) == 0 && !strchr(err, '\n'), "err: %s", err);
    }
    cfg.base = e.root;
    cfg.cache_dir = file;
    ck_assert_ptr_null(blob_store_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cache dir"));
    cfg.cache_dir = NULL;
    cfg.post = NULL;
    ck_assert_ptr_null(blob_store_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "post"));
    env_done(&e);
}
END_TEST

START_TEST(fetch_file_reads_paths_and_urls)
{
    struct env e;
    env_init(&e);
    env_serve(&e, NULL);
    const char *json = "{\"fsroot\": [], \"version\": 3, \"size\": 0}";
    write_file(e.root, "fs.json", json, strlen(json));
    char path[256], url[256], err[256];
    snprintf(path, sizeof path, "%s/fs.json", e.root);
    snprintf(url, sizeof url, "%s/fs.json", e.base);
    const char *wheres[] = { path, url };
    for (int i = 0; i < 2; i++) {
        void *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(blob_fetch_file(wheres[i], 2, 5000, &data, &len, err, sizeof err), 0);
        ck_assert_uint_eq(len, strlen(json));
        ck_assert_str_eq(data, json);
        free(data);
    }
    void *data = (void *)1;
    size_t len = 1;
    snprintf(path, sizeof path, "%s/missing.json", e.root);
    ck_assert_int_eq(blob_fetch_file(path, 2, 5000, &data, &len, err, sizeof err), ENOENT);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(strstr(err, "missing.json: not found"));
    snprintf(url, sizeof url, "%s/missing.json", e.base);
    ck_assert_int_eq(blob_fetch_file(url, 2, 5000, &data, &len, err, sizeof err), ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "missing.json: 404 Not Found"));
    ck_assert_uint_eq(requests_for(&e, "missing.json"), 1);
    ck_assert_int_eq(blob_fetch_file(e.root, 2, 5000, &data, &len, err, sizeof err), EIO);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    env_stop_server(&e);
    ck_assert_int_eq(blob_fetch_file(url, 2, 5000, &data, &len, err, sizeof err), EIO);
    ck_assert_ptr_nonnull(strstr(err, "connection refused; gave up after 2 tries"));
    env_done(&e);
}
END_TEST

static Suite *blob_store_suite(void)
{
    Suite *s = suite_create("blob-store");
    TCase *cache = tcase_create("cache");
    tcase_set_timeout(cache, 120);
    tcase_add_test(cache, cached_read);
    tcase_add_test(cache, two_waiters_one_fetch);
    tcase_add_test(cache, reopen_is_a_cache_hit);
    tcase_add_test(cache, eviction_keeps_the_bound);
    tcase_add_test(cache, zstd_blobs_decompress_to_exactly_size);
    tcase_add_test(cache, legacy_full_hash_names_are_verified);
    tcase_add_test(cache, opaque_names_are_fetched_as_they_are);
    tcase_add_test(cache, disk_cache_serves_a_later_store);
    suite_add_tcase(s, cache);
    TCase *fail = tcase_create("failures");
    tcase_set_timeout(fail, 120);
    tcase_add_test(fail, not_found_fails_at_once);
    tcase_add_test(fail, service_unavailable_is_retried);
    tcase_add_test(fail, service_unavailable_gives_up_after_max_tries);
    tcase_add_test(fail, corrupt_blobs_fail);
    tcase_add_test(fail, size_mismatch_fails);
    tcase_add_test(fail, hung_server_times_out);
    tcase_add_test(fail, dead_server_is_tried_once_per_blob);
    tcase_add_test(fail, server_down_mark_clears_when_a_blob_arrives);
    tcase_add_test(fail, unsafe_names_are_never_requested);
    suite_add_tcase(s, fail);
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, free_cancels_fetches_in_flight);
    tcase_add_test(api, free_interrupts_a_back_off);
    tcase_add_test(api, synchronous_mode_fetches_inline);
    tcase_add_test(api, fetch_now_and_prefetch);
    tcase_add_test(api, long_downloads_report_progress);
    tcase_add_test(api, local_and_file_url_bases);
    tcase_add_test(api, bad_configurations_are_refused);
    tcase_add_test(api, fetch_file_reads_paths_and_urls);
    suite_add_tcase(s, api);
    return s;
}

int main(void)
{
    setenv("no_proxy", "127.0.0.1", 1); /* the test server is local */
    SRunner *sr = srunner_create(blob_store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
