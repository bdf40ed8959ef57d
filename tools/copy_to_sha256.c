/* tools/copy_to_sha256.c — plan86-copy-to-sha256: the blobs of a v86 image.
 *
 *   plan86-copy-to-sha256 [--zstd] FROM(DIR|TARFILE) TODIR
 *
 * Promises: as v86's tools/copy-to-sha256.py, every regular file's contents
 * land once in the flat directory TODIR (made if missing, not its parents)
 * under the name plan86-fs2json gives them: the first 8 hex digits of their
 * SHA-256 + ".bin", or with --zstd + ".bin.zst" holding one zstd frame
 * (level 19) whose header states the uncompressed size. Names already there
 * are left alone; symlinks, devices, fifos and sockets have no blob. Each
 * blob appears whole or not at all (temporary file + rename), and nothing is
 * compressed that is already there. Prints one summary line; errors are one
 * line on stderr and exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "fs9p/blob_name.h"
#include "tools/lib/atomic_file.h"
#include "tools/lib/fs_tree.h"

#define PROG "plan86-copy-to-sha256"
#define USAGE "usage: " PROG " [--zstd] FROM(DIR|TARFILE) TODIR"
#define ZSTD_LEVEL 19

struct blob_writer {
    const char *todir;
    bool zstd;
    struct atomic_file raw;        /* the contents as they arrive */
    ZSTD_CCtx *cctx;
    void *in, *out;                /* ZSTD_CStreamInSize / OutSize bytes */
    unsigned long long files, written, present;
};

static bool writer_begin(void *ctx, struct fs_err *e)
{
    struct blob_writer *w = ctx;
    return atomic_open(&w->raw, w->todir, e);
}

static bool writer_data(void *ctx, const void *buf, size_t len, struct fs_err *e)
{
    struct blob_writer *w = ctx;
    return atomic_write(&w->raw, buf, len, e);
}

static bool read_exact(int fd, void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t got = read(fd, (char *)buf + done, len - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        done += (size_t)got;
    }
    return true;
}

static bool zstd_ok(size_t rc, const char *path, struct fs_err *e)
{
    return !ZSTD_isError(rc) || fs_fail(e, "%s: zstd: %s", path, ZSTD_getErrorName(rc));
}

/* Feeds `len` bytes (none: finish the frame) to the encoder, writing what it gives. */
static bool compress_chunk(struct blob_writer *w, struct atomic_file *dst, size_t len,
                           const char *path, struct fs_err *e)
{
    ZSTD_inBuffer in = { w->in, len, 0 };
    ZSTD_EndDirective mode = len ? ZSTD_e_continue : ZSTD_e_end;
    for (;;) {
        ZSTD_outBuffer out = { w->out, ZSTD_CStreamOutSize(), 0 };
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (!zstd_ok(left, path, e) || !atomic_write(dst, w->out, out.pos, e))
            return false;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return true;
    }
}

/* The raw temporary file, `size` bytes, as one zstd frame in dst. */
static bool compress_raw(struct blob_writer *w, uint64_t size, struct atomic_file *dst,
                         const char *path, struct fs_err *e)
{
    if (lseek(w->raw.fd, 0, SEEK_SET) != 0)
        return fs_fail(e, "%s: %s", w->raw.tmp, strerror(errno));
    if (!zstd_ok(ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only), path, e) ||
        !zstd_ok(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL), path, e) ||
        !zstd_ok(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1), path, e) ||
        !zstd_ok(ZSTD_CCtx_setPledgedSrcSize(w->cctx, size), path, e))
        return false;
    for (uint64_t left = size; left > 0;) {
        size_t n = left < ZSTD_CStreamInSize() ? (size_t)left : ZSTD_CStreamInSize();
        if (!read_exact(w->raw.fd, w->in, n))
            return fs_fail(e, "%s: cannot read back %s", path, w->raw.tmp);
        if (!compress_chunk(w, dst, n, path, e))
            return false;
        left -= n;
    }
    return compress_chunk(w, dst, 0, path, e);
}

static bool store_compressed(struct blob_writer *w, uint64_t size, const char *path,
                             struct fs_err *e)
{
    struct atomic_file z;
    if (!atomic_open(&z, w->todir, e))
        return false;
    if (!compress_raw(w, size, &z, path, e)) {
        atomic_discard(&z);
        return false;
    }
    return atomic_commit(&z, path, e);
}

static bool writer_end(void *ctx, const struct fs_node *file, struct fs_err *e)
{
    struct blob_writer *w = ctx;
    if (!file) {
        atomic_discard(&w->raw);
        return true;
    }
    w->files++;
    char name[32], path[FS_PATH_MAX + 32];
    blob_name_for(file->digest, w->zstd, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", w->todir, name);
    struct stat st;
    bool ok = true;
    if (lstat(path, &st) == 0) {
        w->present++;
    } else if (errno != ENOENT) {
        ok = fs_fail(e, "%s: %s", path, strerror(errno));
    } else {
        ok = w->zstd ? store_compressed(w, file->size, path, e) : atomic_commit(&w->raw, path, e);
        w->written += ok;
    }
    atomic_discard(&w->raw);
    return ok;
}

/* TODIR, made if it is missing. */
static bool make_todir(const char *dir, struct fs_err *e)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fs_fail(e, "%s: cannot make the directory: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fs_fail(e, "%s: not a directory", dir);
    return true;
}

static bool copy_blobs(const char *from, struct blob_writer *w, struct fs_err *e)
{
    const struct fs_sink sink = { w, writer_begin, writer_data, writer_end };
    struct fs_tree_opts opts = { .sink = &sink };
    struct fs_node root;
    if (!make_todir(w->todir, e) || !fs_tree_read(from, &opts, &root, e))
        return false;
    bool ok = fs_tree_check_blob_names(&root, e);
    fs_tree_free(&root);
    return ok;
}

static bool run(const char *from, const char *todir, bool zstd, struct fs_err *e)
{
    struct blob_writer w = { .todir = todir, .zstd = zstd, .raw = { .fd = -1 } };
    bool ok = true;
    if (zstd) {
        w.cctx = ZSTD_createCCtx();
        w.in = malloc(ZSTD_CStreamInSize());
        w.out = malloc(ZSTD_CStreamOutSize());
        if (!w.cctx || !w.in || !w.out)
            ok = fs_fail(e, "out of memory");
    }
    ok = ok && copy_blobs(from, &w, e);
    if (ok)
        printf("%s: %llu files read, %llu blobs written, %llu already present\n", todir,
               w.files, w.written, w.present);
    ZSTD_freeCCtx(w.cctx);
    free(w.in);
    free(w.out);
    return ok;
}

int main(int argc, char **argv)
{
    bool zstd = argc > 1 && strcmp(argv[1], "--zstd") == 0;
    int first = 1 + zstd;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (argc - first != 2 || argv[first][0] == '-' || argv[first + 1][0] == '-') {
        fprintf(stderr, PROG ": expected FROM and TODIR; " USAGE "\n");
        return 1;
    }
    struct fs_err e = { { 0 } };
    if (!run(argv[first], argv[first + 1], zstd, &e)) {
        fprintf(stderr, PROG ": %s\n", e.msg);
        return 1;
    }
    return 0;
}
