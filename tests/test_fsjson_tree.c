/* test_fsjson_tree.c — Check tests for the fs.json index loader and the mem
 * tree's blob-backed files, driven through the 9p server like a guest.
 *
 * The blob source here is a fake (names -> bytes, answering at once, later,
 * or never), so these tests pin down what the tree and the server do with
 * it: which requests wait for a fetch, which need none (truncating to
 * zero, replacing a file), how a first change copies the blob in, and that
 * a failed fetch is an EIO to the guest. The loader is checked on a
 * well-formed index and on every way an index can be refused.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/backend_mem.h"
#include "fs9p/fsjson_load.h"
#include "p9_client.h"

/* ---- a fake blob source ---- */

enum fake_mode { ANSWER_NOW, ANSWER_LATER, FAIL };

struct fake_blobs {
    enum fake_mode mode;
    bool fetched[4];
    int prepares, reads, fetch_nows;
    p9_wake_fn wake;             /* ANSWER_LATER: the waiting request */
    void *arg;
    int pending_blob;
};

static const struct { const char *name, *data; } blob_table[] = {
    { "0a1b2c3d.bin", "hello, world\n" },
    { "ffeeddcc.bin.zst", "0123456789" },
};

static int find_blob(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(blob_table[i].name, name) == 0)
            return i;
    return -1;
}

static int fake_prepare(void *ctx, const char *name, uint64_t size, p9_wake_fn wake, void *arg)
{
    struct fake_blobs *f = ctx;
    int i = find_blob(name);
    f->prepares++;
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(size, strlen(blob_table[i].data));
    if (f->mode == FAIL)
        return EIO;
    if (f->fetched[i])
        return 0;
    if (f->mode == ANSWER_LATER) {
        f->wake = wake;
        f->arg = arg;
        f->pending_blob = i;
        return P9_PENDING;
    }
    f->fetched[i] = true;
    return 0;
}

static int fake_read(void *ctx, const char *name, uint64_t off, void *buf, uint32_t count,
                     uint32_t *done)
{
    struct fake_blobs *f = ctx;
    int i = find_blob(name);
    f->reads++;
    *done = 0;
    if (i < 0 || !f->fetched[i])
        return EIO;
    size_t len = strlen(blob_table[i].data);
    if (off < len) {
        *done = (uint32_t)(len - off < count ? len - off : count);
        memcpy(buf, blob_table[i].data + off, *done);
    }
    return 0;
}

static int fake_fetch_now(void *ctx, const char *name, uint64_t size)
{
    struct fake_blobs *f = ctx;
    (void)size;
    f->fetch_nows++;
    if (f->mode == FAIL)
        return EIO;
    f->fetched[find_blob(name)] = true;
    return 0;
}

/* The pending fetch finishes: the source has the blob, the request re-runs. */
static void fake_answer(struct fake_blobs *f, int err)
{
    p9_wake_fn wake = f->wake;
    ck_assert_ptr_nonnull(wake);
    f->wake = NULL;
    if (!err)
        f->fetched[f->pending_blob] = true;
    wake(f->arg, err);
}

/* ---- an image ---- */

static const char image[] =
    "{\"fsroot\":["
    "[\"etc\",4096,1600000000,16877,0,0,["
    "  [\"motd\",13,1600000001,33188,0,0,\"0a1b2c3d.bin\"],"
    "  [\"digits\",10,1600000002,33152,1000,100,\"ffeeddcc.bin.zst\"],"
    "  [\"empty\",0,1600000003,33188,0,0,\"e3b0c442.bin\"],"
    "  [\"motd.link\",4,1600000004,41471,0,0,\"motd\"],"
    "  [\"private\",4096,1600000005,16840,1000,1000,[]],"
    "  [\"huge\",6000000000,1600000007,33188,0,0,\"9f8e7d6c.bin\"]"
    "]],"
    "[\"fifo\",0,1600000006,4516,0,0]"
    "],\"version\":3,\"size\":8219}";

struct image {
    struct fake_blobs blobs;
    struct p9_mem_blobs source;
    struct p9_backend tree;
    struct client *c;
    struct fsjson_summary sum;
    uint64_t tokens[8];
    uint8_t types[8];
    int completions;
};

static void record_completion(void *ctx, uint64_t token, const uint8_t *reply, size_t len)
{
    struct image *im = ctx;
    struct p9_msg r;
    ck_assert_int_eq(p9_decode(reply, len, &r), 0);
    ck_assert_int_lt(im->completions, 8);
    im->tokens[im->completions] = token;
    im->types[im->completions] = r.type;
    im->completions++;
}

static struct image *image_new(enum fake_mode mode)
{
    struct image *im = calloc(1, sizeof *im);
    ck_assert_ptr_nonnull(im);
    im->blobs.mode = mode;
    im->source = (struct p9_mem_blobs){ fake_prepare, fake_read, fake_fetch_now, NULL, &im->blobs };
    struct p9_mem_config mc = { .clock = fixed_clock, .blobs = &im->source };
    OK(p9_mem_new(&mc, &im->tree));
    char err[256] = "";
    ck_assert_msg(fsjson_load(&im->tree, image, strlen(image), "test.json", &im->sum, err,
                              sizeof err) == 0, "%s", err);
    im->c = client_new_on(&im->tree);
    p9_server_set_completion(im->c->srv, record_completion, im);
    session(im->c, 1, 0, "");
    return im;
}

static void image_free(struct image *im)
{
    client_free(im->c);
    free(im);
}

/* fid `fid` walked from the root (fid 1) to path and opened with flags. */
static void open_path(struct image *im, uint32_t fid, const char *path, uint32_t flags)
{
    OK(call(im->c, P9_TWALK, U(1), U(fid), path));
    OK(call(im->c, P9_TLOPEN, U(fid), U(flags)));
}

/* ---- the loader ---- */

START_TEST(index_becomes_the_tree)
{
    struct image *im = image_new(ANSWER_NOW);
    ck_assert_uint_eq(im->sum.files, 4);
    ck_assert_uint_eq(im->sum.dirs, 2);
    ck_assert_uint_eq(im->sum.symlinks, 1);
    ck_assert_uint_eq(im->sum.skipped, 1);
    ck_assert_str_eq(im->sum.first_skipped, "/fifo");
    ck_assert_uint_eq(im->sum.declared_size, 8219);
    struct client *c = im->c;
    OK(call(c, P9_TWALK, U(1), U(2), "etc/digits"));
    struct p9_attr a = getattr(c, 2);
    ck_assert_uint_eq(a.mode, S_IFREG | 0600);
    ck_assert_uint_eq(a.uid, 1000);
    ck_assert_uint_eq(a.gid, 100);
    ck_assert_uint_eq(a.size, 10);
    ck_assert_uint_eq(a.mtime.sec, 1600000002);
    ck_assert_uint_eq(a.mtime.nsec, 0);
    OK(call(c, P9_TWALK, U(1), U(9), "etc/huge"));
    ck_assert_uint_eq(getattr(c, 9).size, 6000000000ull);  /* sizes are 64-bit, not fetched */
    OK(call(c, P9_TWALK, U(1), U(3), "etc/private"));
    a = getattr(c, 3);
    ck_assert_uint_eq(a.mode, S_IFDIR | 0710);
    ck_assert_uint_eq(a.mtime.sec, 1600000005);
    OK(call(c, P9_TWALK, U(1), U(4), "etc"));
    ck_assert_uint_eq(getattr(c, 4).mtime.sec, 1600000000);   /* loading changed no times */
    OK(call(c, P9_TWALK, U(1), U(5), "etc/motd.link"));
    OK(call(c, P9_TREADLINK, U(5)));
    ck_assert_uint_eq(c->r.f[0].str.len, 4);
    ck_assert_mem_eq(c->r.f[0].str.ptr, "motd", 4);
    ck_assert_int_eq(call(c, P9_TWALK, U(1), U(6), "fifo"), ENOENT);
    open_path(im, 7, "etc/motd", P9_DOTL_RDONLY);
    expect_read(c, 7, 0, 100, "hello, world\n", 13);
    open_path(im, 8, "etc/empty", P9_DOTL_RDONLY);
    expect_read(c, 8, 0, 100, "", 0);
    ck_assert_int_eq(im->blobs.fetched[0] + im->blobs.fetched[1], 1);   /* only motd */
    image_free(im);
}
END_TEST

static const struct {
    const char *json, *why;
} bad_indexes[] = {
    { "{\"fsroot\":[],\"version\":2,\"size\":0}", "format version 2; plan86 reads version 3" },
    { "{\"fsroot\":[[\"a\",1,2,33188,0,0,\"0a1b2c3d.bin\"]],\"vers", "not valid JSON" },
    { "", "not valid JSON" },
    { "[1,2,3]", "no \"version\"" },
    { "{\"fsroot\":[],\"version\":\"3\"}", "\"version\" is not a number" },
    { "{\"fsroot\":{},\"version\":3}", "\"fsroot\" is missing or not a list" },
    { "{\"fsroot\":[[\"a/b\",1,2,33188,0,0,\"x.bin\"]],\"version\":3}", "\"a/b\" is not a valid file name" },
    { "{\"fsroot\":[[\"..\",0,2,16877,0,0,[]]],\"version\":3}", "\"..\" is not a valid file name" },
    { "{\"fsroot\":[[\"a\",0,2,16877,0,0,[]],[\"a\",0,2,33188,0,0,\"x.bin\"]],\"version\":3}",
      "entry /a: the name appears twice" },
    { "{\"fsroot\":[[\"a\",5,2,33188,0,0,\"../secret\"]],\"version\":3}", "is not a safe relative name" },
    { "{\"fsroot\":[[\"a\",5,2,33188,0,0,\"/etc/passwd\"]],\"version\":3}", "is not a safe relative name" },
    { "{\"fsroot\":[[\"a\",-1,2,33188,0,0,\"x.bin\"]],\"version\":3}", "field 1 (size)" },
    { "{\"fsroot\":[[\"a\",1.5,2,33188,0,0,\"x.bin\"]],\"version\":3}", "field 1 (size)" },
    { "{\"fsroot\":[[\"a\",1,2,33188,-4,0,\"x.bin\"]],\"version\":3}", "field 4 (uid)" },
    { "{\"fsroot\":[[\"d\",0,2,16877,0,0,\"x.bin\"]],\"version\":3}", "a directory needs a list" },
    { "{\"fsroot\":[[\"c\",0,2,8612,0,0,\"x.bin\"]],\"version\":3}", "is not a file, directory or symlink" },
    { "{\"fsroot\":[[\"a\",1,2]],\"version\":3}", "not a list of at least 6 fields" },
    { "{\"fsroot\":[[\"d\",0,2,16877,0,0,[[\"deep\",1,2,33188,0,0,7]]]],\"version\":3}",
      "entry /d/deep: field 6 must be a string" },
};

START_TEST(bad_indexes_are_refused_with_one_line)
{
    const char *json = bad_indexes[_i].json, *why = bad_indexes[_i].why;
    struct fake_blobs f = { 0 };
    struct p9_mem_blobs source = { fake_prepare, fake_read, fake_fetch_now, NULL, &f };
    struct p9_mem_config mc = { .blobs = &source };
    struct p9_backend tree;
    OK(p9_mem_new(&mc, &tree));
    struct fsjson_summary sum;
    char err[256] = "";
    ck_assert_int_eq(fsjson_load(&tree, json, strlen(json), "test.json", &sum, err, sizeof err), EINVAL);
    ck_assert_msg(strstr(err, why) != NULL, "index %d: \"%s\" lacks \"%s\"", _i, err, why);
    ck_assert_msg(strncmp(err, "fs.json test.json: ", 19) == 0, "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    tree.ops->destroy(tree.be);
}
END_TEST

/* ---- blob-backed files through the server ---- */

START_TEST(open_and_read_wait_for_the_fetch)
{
    struct image *im = image_new(ANSWER_LATER);
    struct client *c = im->c;
    OK(call(c, P9_TWALK, U(1), U(2), "etc/motd"));
    submit(c, 10, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY));
    ck_assert_int_eq(im->completions, 0);                 /* parked on the fetch */
    ck_assert_uint_eq(p9_server_pending(c->srv), 1);
    fake_answer(&im->blobs, 0);
    ck_assert_int_eq(im->completions, 1);
    ck_assert_uint_eq(im->types[0], P9_RLOPEN);
    expect_read(c, 2, 7, 100, "world\n", 6);              /* fetched: no wait */
    /* a failed fetch is an EIO answer to the parked request */
    OK(call(c, P9_TWALK, U(1), U(3), "etc/digits"));
    submit(c, 11, P9_TLOPEN, U(3), U(P9_DOTL_RDONLY));
    ck_assert_int_eq(im->completions, 1);
    fake_answer(&im->blobs, EIO);
    ck_assert_int_eq(im->completions, 2);
    ck_assert_uint_eq(im->types[1], P9_RLERROR);
    image_free(im);
}
END_TEST

START_TEST(first_write_copies_the_blob_in)
{
    struct image *im = image_new(ANSWER_NOW);
    struct client *c = im->c;
    open_path(im, 2, "etc/digits", P9_DOTL_WRONLY);
    ck_assert_int_eq(im->blobs.prepares, 0);              /* opening to write fetches nothing */
    OK(call(c, P9_TWRITE, U(2), U(3), "XY", (uint32_t)2));
    ck_assert_int_eq(im->blobs.prepares, 1);              /* the write needed the old bytes */
    int reads = im->blobs.reads;
    open_path(im, 3, "etc/digits", P9_DOTL_RDONLY);
    expect_read(c, 3, 0, 100, "012XY56789", 10);
    ck_assert_int_eq(im->blobs.reads, reads);             /* now an ordinary file */
    struct p9_attr a = getattr(c, 3);
    ck_assert_uint_eq(a.size, 10);
    ck_assert_uint_eq(a.mtime.sec, 1700000000);           /* the write's time, not the image's */
    image_free(im);
}
END_TEST

START_TEST(truncating_to_zero_needs_no_fetch)
{
    struct image *im = image_new(FAIL);
    struct client *c = im->c;
    OK(call(c, P9_TWALK, U(1), U(2), "etc/motd"));
    OK(call(c, P9_TSETATTR, U(2), U(P9_SETATTR_SIZE), U(0), U(0), U(0), U(0), U(0), U(0), U(0), U(0)));
    ck_assert_uint_eq(getattr(c, 2).size, 0);
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDWR)));
    write_all(c, 2, 0, "new");
    expect_read(c, 2, 0, 100, "new", 3);
    open_path(im, 3, "etc/digits", P9_DOTL_WRONLY | P9_DOTL_TRUNC);
    ck_assert_uint_eq(getattr(c, 3).size, 0);
    ck_assert_int_eq(im->blobs.prepares, 0);
    /* cutting to a nonzero size needs the bytes, and the fetch fails */
    OK(p9_mem_add(&im->tree, NULL, "again", &(struct p9_mem_entry){
        .mode = S_IFREG | 0644, .size = 13, .blob = "0a1b2c3d.bin" }, NULL));
    OK(call(c, P9_TWALK, U(1), U(4), "again"));
    ck_assert_int_eq(call(c, P9_TSETATTR, U(4), U(P9_SETATTR_SIZE), U(0), U(0), U(0), U(5),
                          U(0), U(0), U(0), U(0)), EIO);
    ck_assert_uint_eq(getattr(c, 4).size, 13);            /* unchanged */
    ck_assert_int_eq(call(c, P9_TLOPEN, U(4), U(P9_DOTL_RDONLY)), EIO);
    image_free(im);
}
END_TEST

START_TEST(embedder_reads_fetch_and_writes_replace)
{
    struct image *im = image_new(ANSWER_LATER);
    void *data;
    size_t len;
    OK(p9_mem_read_file(&im->tree, "/etc/motd", &data, &len));
    ck_assert_int_eq(im->blobs.fetch_nows, 1);
    ck_assert_uint_eq(len, 13);
    ck_assert_mem_eq(data, "hello, world\n", 13);
    free(data);
    OK(p9_mem_create_file(&im->tree, "/etc/digits", "replaced", 8));
    ck_assert_int_eq(im->blobs.fetch_nows, 1);            /* replacing fetched nothing */
    OK(p9_mem_read_file(&im->tree, "etc/digits", &data, &len));
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(data, "replaced", 8);
    free(data);
    const char *blob;
    uint64_t size;
    ck_assert_int_eq(p9_mem_file_blob(&im->tree, "/etc/digits", &blob, &size), ENODATA);
    OK(p9_mem_file_blob(&im->tree, "/etc/motd", &blob, &size));
    ck_assert_str_eq(blob, "0a1b2c3d.bin");
    ck_assert_int_eq(p9_mem_file_blob(&im->tree, "/etc", &blob, &size), EINVAL);
    image_free(im);
}
END_TEST

START_TEST(failed_fetch_is_eio_for_readers)
{
    struct image *im = image_new(FAIL);
    void *data;
    size_t len;
    ck_assert_int_eq(call(im->c, P9_TWALK, U(1), U(2), "etc/motd"), 0);
    ck_assert_int_eq(call(im->c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY)), EIO);
    ck_assert_int_eq(p9_mem_read_file(&im->tree, "/etc/motd", &data, &len), EIO);
    image_free(im);
}
END_TEST

static Suite *fsjson_tree_suite(void)
{
    Suite *s = suite_create("fsjson_tree");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, index_becomes_the_tree);
    tcase_add_loop_test(tc, bad_indexes_are_refused_with_one_line, 0,
                        (int)(sizeof bad_indexes / sizeof bad_indexes[0]));
    tcase_add_test(tc, open_and_read_wait_for_the_fetch);
    tcase_add_test(tc, first_write_copies_the_blob_in);
    tcase_add_test(tc, truncating_to_zero_needs_no_fetch);
    tcase_add_test(tc, embedder_reads_fetch_and_writes_replace);
    tcase_add_test(tc, failed_fetch_is_eio_for_readers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fsjson_tree_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
