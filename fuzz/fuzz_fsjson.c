/* fuzz_fsjson.c — libFuzzer target for the fs.json index loader.
 *
 * Promises: whatever bytes an fs.json holds, fsjson_load either builds a mem
 * tree or refuses the index with one line (no newline, NUL-terminated, in
 * the buffer); nothing crashes, leaks or reads out of bounds (run under
 * ASan/UBSan). A tree that loads is then walked from the embedder side
 * (p9_mem_read_file and p9_mem_file_blob on a few paths) with a blob source
 * that fails every fetch, as a dead server would.
 * Built only by clang with -fsanitize=fuzzer (see tests/meson.build).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs9p/backend_mem.h"
#include "fs9p/fsjson_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dead_prepare(void *ctx, const char *name, uint64_t size, p9_wake_fn wake, void *arg)
{
    (void)ctx, (void)name, (void)size, (void)wake, (void)arg;
    return EIO;
}

static int dead_read(void *ctx, const char *name, uint64_t off, void *buf, uint32_t count,
                     uint32_t *done)
{
    (void)ctx, (void)name, (void)off, (void)buf, (void)count;
    *done = 0;
    return EIO;
}

static int dead_fetch_now(void *ctx, const char *name, uint64_t size)
{
    (void)ctx, (void)name, (void)size;
    return EIO;
}

static void probe(struct p9_backend *tree, const char *path)
{
    void *bytes = NULL;
    size_t len;
    if (p9_mem_read_file(tree, path, &bytes, &len) == 0)
        free(bytes);
    const char *blob;
    uint64_t blob_size;
    if (p9_mem_file_blob(tree, path, &blob, &blob_size) == 0 && !*blob)
        abort();   /* a blob-backed file always has a name */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct p9_mem_blobs dead = { dead_prepare, dead_read, dead_fetch_now, NULL, NULL };
    struct p9_mem_config mc = { .capacity_bytes = 1 << 20, .max_objects = 4096, .blobs = &dead };
    struct p9_backend tree;
    if (p9_mem_new(&mc, &tree) != 0)
        return 0;
    struct fsjson_summary sum;
    char err[256];
    memset(err, 'x', sizeof err);
    if (fsjson_load(&tree, (const char *)data, size, "fuzz.json", &sum, err, sizeof err) != 0) {
        if (!memchr(err, 0, sizeof err) || strchr(err, '\n'))
            abort();   /* the refusal must be one terminated line */
    } else {
        static const char *const paths[] = { "a", "a/b", "etc/motd", "bin/busybox", "x" };
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            probe(&tree, paths[i]);
    }
    tree.ops->destroy(tree.be);
    return 0;
}
