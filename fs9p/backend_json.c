/* fs9p/backend_json.c — an fs.json image as a mem tree over a blob store
 * (see backend_json.h). */
#include "fs9p/backend_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs9p/fsjson_load.h"

#define INDEX_TRIES 4
#define INDEX_TIMEOUT_MS 60000
#define BASE_CAP 4096

/* The blob store behind the tree's p9_mem_blobs. */
static int store_prepare(void *ctx, const char *name, uint64_t size, p9_wake_fn wake, void *arg)
{
    return blob_store_prepare(ctx, name, size, wake, arg);
}

static int store_read(void *ctx, const char *name, uint64_t off, void *buf, uint32_t count,
                      uint32_t *done)
{
    return blob_store_read(ctx, name, off, buf, count, done);
}

static int store_fetch_now(void *ctx, const char *name, uint64_t size)
{
    return blob_store_fetch_now(ctx, name, size);
}

static void store_release(void *ctx)
{
    blob_store_free(ctx);
}

/* The index's directory: "http://h/a/fs.json" -> "http://h/a/", "x/fs.json" -> "x/". */
static void base_of(const char *index, char *out, size_t cap)
{
    const char *slash = strrchr(index, '/');
    const char *scheme = strstr(index, "://");
    if (!slash || (scheme && slash < scheme + 3))
        snprintf(out, cap, "%s", scheme ? index : ".");
    else
        snprintf(out, cap, "%.*s", (int)(slash - index + 1), index);
}

static void log_line(const struct p9_json_config *cfg, const char *line)
{
    if (cfg->log)
        cfg->log(cfg->log_ctx, line);
    else
        fprintf(stderr, "plan86: %s\n", line);
}

static int load_index(const struct p9_json_config *cfg, struct p9_backend *tree, char *err,
                      size_t err_size)
{
    void *text = NULL;
    size_t len = 0;
    int rc = blob_fetch_file(cfg->index, INDEX_TRIES, INDEX_TIMEOUT_MS, &text, &len, err, err_size);
    if (rc)
        return rc;
    struct fsjson_summary sum;
    rc = fsjson_load(tree, text, len, cfg->index, &sum, err, err_size);
    free(text);
    if (!rc && sum.skipped) {
        char line[512];
        snprintf(line, sizeof line, "fs.json %s: skipped %llu devices, fifos or sockets (first: %s)",
                 cfg->index, (unsigned long long)sum.skipped, sum.first_skipped);
        log_line(cfg, line);
    }
    return rc;
}

/* Starts fetching each listed guest path that is still a blob. */
static int prefetch_list(const struct p9_json_config *cfg, struct p9_backend *tree,
                         struct blob_store *store, char *err, size_t err_size)
{
    FILE *f = fopen(cfg->prefetch, "r");
    if (!f) {
        snprintf(err, err_size, "prefetch list %s: %s", cfg->prefetch, strerror(errno));
        return errno;
    }
    char path[4096], first_missing[256] = "";
    unsigned missing = 0;
    while (fgets(path, sizeof path, f)) {
        path[strcspn(path, "\r\n")] = '\0';
        const char *blob;
        uint64_t size;
        if (!path[0] || path[0] == '#')
            continue;
        if (p9_mem_file_blob(tree, path, &blob, &size) == 0)
            blob_store_prefetch(store, blob, size);
        else if (!missing++)
            snprintf(first_missing, sizeof first_missing, "%.200s", path);
    }
    fclose(f);
    if (missing) {
        char line[512];
        snprintf(line, sizeof line, "prefetch list %s: %u paths are not files of the image (first: %s)",
                 cfg->prefetch, missing, first_missing);
        log_line(cfg, line);
    }
    return 0;
}

static struct blob_store *open_store(const struct p9_json_config *cfg, char *err, size_t err_size)
{
    char base[BASE_CAP];
    if (cfg->base)
        snprintf(base, sizeof base, "%s", cfg->base);
    else
        base_of(cfg->index, base, sizeof base);
    struct blob_store_config sc = {
        .base = base, .cache_bytes = cfg->cache_bytes, .cache_dir = cfg->cache_dir,
        .synchronous = cfg->synchronous, .post = cfg->post, .post_ctx = cfg->post_ctx,
        .log = cfg->log, .log_ctx = cfg->log_ctx, .progress = cfg->progress,
    };
    return blob_store_new(&sc, err, err_size);
}

int p9_json_new(const struct p9_json_config *cfg, struct p9_backend *out, char *err,
                size_t err_size)
{
    struct blob_store *store = open_store(cfg, err, err_size);
    if (!store)
        return EINVAL;
    struct p9_mem_blobs blobs = { store_prepare, store_read, store_fetch_now, store_release, store };
    struct p9_mem_config mc = { .capacity_bytes = cfg->capacity_bytes, .clock = cfg->clock,
                                .clock_ctx = cfg->clock_ctx, .blobs = &blobs };
    if (p9_mem_new(&mc, out) != 0) {
        blob_store_free(store);
        snprintf(err, err_size, "fs.json %s: out of memory", cfg->index);
        return ENOMEM;
    }
    int rc = load_index(cfg, out, err, err_size);
    if (!rc && cfg->prefetch)
        rc = prefetch_list(cfg, out, store, err, err_size);
    if (rc)
        out->ops->destroy(out->be);     /* frees the store too */
    return rc;
}
