/* fs9p/blob_fetch.h — fetching one URL or local file into memory.
 *
 * Promises: `blob_fetch` reads an http://, https:// or file:// URL (libcurl,
 * one reused handle per fetcher) or a plain local path into a malloc'd,
 * NUL-terminated buffer of at most `max_bytes`, and says how it went: ok, not
 * found (a 4xx answer, a missing file), too large, another lasting failure,
 * or transient (5xx, timeout, refused or reset connection, cut transfer),
 * which it retries with a doubling back-off up to the policy's tries. A
 * timeout is `timeout_ms` without a byte arriving, so long transfers that
 * make progress are never cut. A `blob_stop` set from another thread ends a
 * back-off or a transfer within about 100 ms.
 *
 * Threading: a fetcher is used by one thread at a time; a stop is shared.
 */
#ifndef PLAN86_FS9P_BLOB_FETCH_H
#define PLAN86_FS9P_BLOB_FETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest file blob_fetch_file accepts (an fs.json of a big tree is a
 * few tens of MiB). */
#define BLOB_FETCH_FILE_MAX ((size_t)256 << 20)

/* A flag that is set once and wakes everything waiting on it. */
struct blob_stop {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopped;
};
void blob_stop_init(struct blob_stop *st);
void blob_stop_destroy(struct blob_stop *st);
void blob_stop_set(struct blob_stop *st);
bool blob_stop_is_set(struct blob_stop *st);
/* Waits `ms` milliseconds; false if the stop was set before or meanwhile. */
bool blob_stop_sleep(struct blob_stop *st, unsigned ms);

/* The first back-off after a transient failure, unless a store says otherwise. */
#define BLOB_FETCH_FIRST_BACKOFF_MS 250u

struct blob_fetch_policy {
    unsigned max_tries;          /* >= 1 */
    unsigned first_backoff_ms;   /* doubled after each transient failure */
    unsigned timeout_ms;         /* with no byte arriving, per attempt */
};

enum blob_fetch_status {
    BLOB_FETCH_OK,
    BLOB_FETCH_NOT_FOUND,        /* 404, 410, another 4xx, a missing file */
    BLOB_FETCH_TOO_LARGE,        /* more than max_bytes */
    BLOB_FETCH_FAILED,           /* any other lasting failure */
    BLOB_FETCH_TRANSIENT,        /* still failing after max_tries */
    BLOB_FETCH_STOPPED,
};

struct blob_fetch_result {
    enum blob_fetch_status status;
    bool unreachable;            /* the last failure was the connection's */
    unsigned tries;
    uint8_t *data;               /* OK: malloc'd, data[len] == 0; else NULL */
    size_t len;
    char why[256];               /* not OK: "404 Not Found", "connection refused" */
};

/* Told the size of each piece of body received, for progress reports. */
typedef void (*blob_fetch_progress_fn)(void *ctx, size_t bytes);

struct blob_fetcher;
/* NULL when libcurl cannot make a handle. `progress` may be NULL. */
struct blob_fetcher *blob_fetcher_new(struct blob_stop *stop, blob_fetch_progress_fn progress,
                                      void *progress_ctx);
void blob_fetcher_free(struct blob_fetcher *f);

/* Monotonic time in milliseconds (what the timeouts are measured in). */
uint64_t blob_clock_ms(void);

/* Does `where` name a URL (has a "scheme://") rather than a local path? */
bool blob_is_url(const char *where);

/* Fetches `where` (retrying transient failures as the policy says) into
 * *out; the caller frees out->data. Local paths are read once. max_bytes
 * must be below SIZE_MAX. */
void blob_fetch(struct blob_fetcher *f, const char *where, size_t max_bytes,
                const struct blob_fetch_policy *policy, struct blob_fetch_result *out);

/* One line "where: why[; gave up after N tries]" for a failed result. */
void blob_fetch_describe(const struct blob_fetch_result *r, const char *where, char *out,
                         size_t cap);

#endif
