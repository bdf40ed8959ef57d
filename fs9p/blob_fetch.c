/* fs9p/blob_fetch.c — one URL or local file into memory (see blob_fetch.h).
 *
 * A transfer runs on the fetcher's own multi handle, polled at most 100 ms at
 * a time, so a stop or a stalled server is noticed within that time (libcurl's
 * progress callback comes only once a second while nothing arrives). Only
 * http, https and file are allowed, and redirects only to http and https.
 */
#include "fs9p/blob_fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs9p/blob_store.h"

#define POLL_MS 100
#define MAX_BACKOFF_MS 60000u

/* ---- the stop flag ---- */

void blob_stop_init(struct blob_stop *st)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, &attr);
    pthread_condattr_destroy(&attr);
    st->stopped = false;
}

void blob_stop_destroy(struct blob_stop *st)
{
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->lock);
}

void blob_stop_set(struct blob_stop *st)
{
    pthread_mutex_lock(&st->lock);
    st->stopped = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

bool blob_stop_is_set(struct blob_stop *st)
{
    pthread_mutex_lock(&st->lock);
    bool stopped = st->stopped;
    pthread_mutex_unlock(&st->lock);
    return stopped;
}

bool blob_stop_sleep(struct blob_stop *st, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->lock);
    int rc = 0;
    while (!st->stopped && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&st->cond, &st->lock, &until);
    bool stopped = st->stopped;
    pthread_mutex_unlock(&st->lock);
    return !stopped;
}

/* ---- the fetcher ---- */

struct body {
    uint8_t *data;
    size_t len, cap, max;
    bool too_large;
};

struct blob_fetcher {
    CURL *easy;
    CURLM *multi;
    struct blob_stop *stop;
    blob_fetch_progress_fn progress;
    void *progress_ctx;
    struct body body;
    uint64_t last_activity_ms;   /* monotonic time of the last byte received */
    int status;                  /* HTTP status of the last status line; 0: none */
    char reason[64];             /* reason phrase of the last HTTP status line */
    char errbuf[CURL_ERROR_SIZE];
};

uint64_t blob_clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Makes room for `more` bytes and the NUL after them, within b->max. */
static bool body_reserve(struct body *b, size_t more)
{
    if (more > b->max - b->len) {
        b->too_large = true;
        return false;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        return false;
    b->data = data;
    b->cap = cap;
    return true;
}

static void body_reset(struct body *b, size_t max)
{
    free(b->data);
    *b = (struct body){ .max = max };
}

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    struct blob_fetcher *f = arg;
    size_t len = size * n;
    f->last_activity_ms = blob_clock_ms();
    if (f->status != 0 && f->status != 200)
        return len; /* an error page: only its status matters */
    if (!body_reserve(&f->body, len))
        return 0;
    memcpy(f->body.data + f->body.len, ptr, len);
    f->body.len += len;
    if (f->progress)
        f->progress(f->progress_ctx, len);
    return len;
}

/* Notes the status code and reason phrase of "HTTP/1.1 404 Not Found"
 * (printable bytes only); the last status line counts (redirects). */
static size_t on_header(char *ptr, size_t size, size_t n, void *arg)
{
    struct blob_fetcher *f = arg;
    size_t len = size * n;
    f->last_activity_ms = blob_clock_ms();
    if (len < 5 || memcmp(ptr, "HTTP/", 5) != 0)
        return len;
    size_t i = 5;
    while (i < len && ptr[i] != ' ')
        i++;
    f->status = 0;
    for (i++; i < len && ptr[i] >= '0' && ptr[i] <= '9' && f->status < 1000; i++)
        f->status = f->status * 10 + (ptr[i] - '0');
    i += i < len && ptr[i] == ' ';
    size_t out = 0;
    while (i < len && out + 1 < sizeof f->reason && ptr[i] >= ' ' && ptr[i] < 0x7f)
        f->reason[out++] = ptr[i++];
    f->reason[out] = '\0';
    return len;
}

struct blob_fetcher *blob_fetcher_new(struct blob_stop *stop, blob_fetch_progress_fn progress,
                                      void *progress_ctx)
{
    struct blob_fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->stop = stop;
    f->progress = progress;
    f->progress_ctx = progress_ctx;
    f->easy = curl_easy_init();
    f->multi = curl_multi_init();
    if (!f->easy || !f->multi) {
        blob_fetcher_free(f);
        return NULL;
    }
    CURL *e = f->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "plan86 fs-json");
    return f;
}

void blob_fetcher_free(struct blob_fetcher *f)
{
    if (!f)
        return;
    if (f->multi)
        curl_multi_cleanup(f->multi);
    if (f->easy)
        curl_easy_cleanup(f->easy);
    free(f->body.data);
    free(f);
}

bool blob_is_url(const char *where)
{
    size_t scheme = strspn(where, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return scheme > 0 && strncmp(where + scheme, "://", 3) == 0;
}

/* ---- one attempt at a URL ---- */

enum attempt_end { ENDED, ENDED_STOPPED, ENDED_STALLED };

/* Runs the transfer on the multi handle until it ends, stops or stalls. */
static enum attempt_end run_transfer(struct blob_fetcher *f, unsigned timeout_ms, CURLcode *rc)
{
    *rc = CURLE_OK;
    f->last_activity_ms = blob_clock_ms();
    curl_multi_add_handle(f->multi, f->easy);
    enum attempt_end end = ENDED;
    for (;;) {
        int running = 0;
        curl_multi_perform(f->multi, &running);
        if (!running)
            break;
        if (blob_stop_is_set(f->stop)) {
            end = ENDED_STOPPED;
            break;
        }
        if (blob_clock_ms() - f->last_activity_ms > timeout_ms) {
            end = ENDED_STALLED;
            break;
        }
        curl_multi_poll(f->multi, NULL, 0, POLL_MS, NULL);
    }
    int left = 0;
    for (CURLMsg *m; (m = curl_multi_info_read(f->multi, &left));)
        if (m->msg == CURLMSG_DONE)
            *rc = m->data.result;
    curl_multi_remove_handle(f->multi, f->easy);
    return end;
}

static void set_why(struct blob_fetch_result *out, const char *fmt, const char *detail)
{
    snprintf(out->why, sizeof out->why, fmt, detail);
}

/* Sorts out an answer that libcurl received whole. */
static enum blob_fetch_status classify_answer(struct blob_fetcher *f, struct blob_fetch_result *out)
{
    long code = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code == 0 || code == 200)
        return BLOB_FETCH_OK;
    if (f->reason[0])
        snprintf(out->why, sizeof out->why, "%ld %s", code, f->reason);
    else
        snprintf(out->why, sizeof out->why, "HTTP status %ld", code);
    if (code >= 500 || code == 408 || code == 429)
        return BLOB_FETCH_TRANSIENT;
    if (code >= 400)
        return BLOB_FETCH_NOT_FOUND;
    return BLOB_FETCH_FAILED;
}

/* The connection-level failures worth another try. */
static bool is_connection_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static void describe_connection_error(struct blob_fetcher *f, CURLcode rc,
                                      struct blob_fetch_result *out)
{
    long os_errno = 0;
    curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == ECONNREFUSED)
        set_why(out, "%s", "connection refused");
    else if (os_errno == ECONNRESET)
        set_why(out, "%s", "connection reset");
    else if (rc == CURLE_GOT_NOTHING)
        set_why(out, "%s", "connection closed without an answer");
    else if (rc == CURLE_PARTIAL_FILE)
        set_why(out, "%s", "transfer cut short");
    else
        set_why(out, "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
}

static enum blob_fetch_status attempt_url(struct blob_fetcher *f, const char *url, size_t max,
                                          unsigned timeout_ms, struct blob_fetch_result *out)
{
    body_reset(&f->body, max);
    f->status = 0;
    f->reason[0] = '\0';
    f->errbuf[0] = '\0';
    out->unreachable = false;
    curl_easy_setopt(f->easy, CURLOPT_URL, url);
    CURLcode rc;
    enum attempt_end end = run_transfer(f, timeout_ms, &rc);
    if (end == ENDED_STOPPED) {
        set_why(out, "%s", "stopped");
        return BLOB_FETCH_STOPPED;
    }
    if (end == ENDED_STALLED) {
        snprintf(out->why, sizeof out->why, "timed out (nothing for %u ms)", timeout_ms);
        out->unreachable = true;
        return BLOB_FETCH_TRANSIENT;
    }
    if (f->body.too_large) {
        snprintf(out->why, sizeof out->why, "larger than %zu bytes", max);
        return BLOB_FETCH_TOO_LARGE;
    }
    if (rc == CURLE_OK)
        return classify_answer(f, out);
    if (is_connection_error(rc)) {
        describe_connection_error(f, rc, out);
        out->unreachable = true;
        return BLOB_FETCH_TRANSIENT;
    }
    if (rc == CURLE_FILE_COULDNT_READ_FILE) {
        set_why(out, "%s", "not found");
        return BLOB_FETCH_NOT_FOUND;
    }
    set_why(out, "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
    return BLOB_FETCH_FAILED;
}

/* ---- a local file ---- */

static ssize_t read_retrying(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Reads to the end; once max bytes are in, one more byte means too large. */
static enum blob_fetch_status read_fd(int fd, struct body *b, struct blob_fetch_result *out)
{
    for (;;) {
        uint8_t probe;
        bool full = b->len == b->max;
        if (!full && !body_reserve(b, 1)) {
            set_why(out, "%s", "out of memory");
            return BLOB_FETCH_FAILED;
        }
        /* body_reserve keeps cap <= max + 1, so this never passes max */
        size_t room = full ? 1 : b->cap - b->len - 1;
        ssize_t n = read_retrying(fd, full ? &probe : b->data + b->len, room);
        if (n < 0) {
            set_why(out, "%s", strerror(errno));
            return BLOB_FETCH_FAILED;
        }
        if (n == 0)
            return BLOB_FETCH_OK;
        if (full) {
            snprintf(out->why, sizeof out->why, "larger than %zu bytes", b->max);
            return BLOB_FETCH_TOO_LARGE;
        }
        b->len += (size_t)n;
    }
}

static enum blob_fetch_status read_path(const char *path, struct body *b,
                                        struct blob_fetch_result *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_why(out, "%s", e == ENOENT || e == ENOTDIR ? "not found" : strerror(e));
        return e == ENOENT || e == ENOTDIR ? BLOB_FETCH_NOT_FOUND : BLOB_FETCH_FAILED;
    }
    struct stat st;
    enum blob_fetch_status status;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_why(out, "%s", "not a regular file");
        status = BLOB_FETCH_FAILED;
    } else {
        status = read_fd(fd, b, out);
    }
    close(fd);
    return status;
}

/* ---- fetching with retries ---- */

static void take_body(struct body *b, struct blob_fetch_result *out)
{
    if (!b->data && !body_reserve(b, 0)) {
        out->status = BLOB_FETCH_FAILED;
        set_why(out, "%s", "out of memory");
        return;
    }
    b->data[b->len] = '\0';
    out->data = b->data;
    out->len = b->len;
    *b = (struct body){ 0 };
}

void blob_fetch(struct blob_fetcher *f, const char *where, size_t max_bytes,
                const struct blob_fetch_policy *policy, struct blob_fetch_result *out)
{
    *out = (struct blob_fetch_result){ .tries = 1 };
    if (!blob_is_url(where)) {
        body_reset(&f->body, max_bytes);
        out->status = read_path(where, &f->body, out);
    } else {
        unsigned backoff = policy->first_backoff_ms;
        for (;; out->tries++) {
            out->status = attempt_url(f, where, max_bytes, policy->timeout_ms, out);
            if (out->status != BLOB_FETCH_TRANSIENT || out->tries >= policy->max_tries)
                break;
            if (!blob_stop_sleep(f->stop, backoff)) {
                out->status = BLOB_FETCH_STOPPED;
                break;
            }
            backoff = backoff > MAX_BACKOFF_MS / 2 ? MAX_BACKOFF_MS : backoff * 2;
        }
    }
    if (out->status == BLOB_FETCH_OK)
        take_body(&f->body, out);
    body_reset(&f->body, 0);
}

void blob_fetch_describe(const struct blob_fetch_result *r, const char *where, char *out,
                         size_t cap)
{
    if (r->status == BLOB_FETCH_TRANSIENT && r->tries > 1)
        snprintf(out, cap, "%s: %s; gave up after %u tries", where, r->why, r->tries);
    else
        snprintf(out, cap, "%s: %s", where, r->why);
}

/* ---- the fs.json itself ---- */

int blob_fetch_file(const char *where, unsigned max_tries, unsigned timeout_ms,
                    void **data, size_t *len, char *err, size_t err_size)
{
    *data = NULL;
    *len = 0;
    struct blob_stop stop;
    blob_stop_init(&stop);
    struct blob_fetcher *f = blob_fetcher_new(&stop, NULL, NULL);
    int status = ENOMEM;
    if (!f) {
        snprintf(err, err_size, "%s: cannot start libcurl", where);
    } else {
        struct blob_fetch_policy policy = { max_tries, BLOB_FETCH_FIRST_BACKOFF_MS, timeout_ms };
        struct blob_fetch_result r;
        blob_fetch(f, where, BLOB_FETCH_FILE_MAX, &policy, &r);
        status = r.status == BLOB_FETCH_OK ? 0
               : r.status == BLOB_FETCH_NOT_FOUND ? ENOENT
               : r.status == BLOB_FETCH_TOO_LARGE ? EFBIG : EIO;
        if (status == 0) {
            *data = r.data;
            *len = r.len;
        } else {
            blob_fetch_describe(&r, where, err, err_size);
        }
        blob_fetcher_free(f);
    }
    blob_stop_destroy(&stop);
    return status;
}
