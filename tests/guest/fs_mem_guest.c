/* fs_mem_guest.c — the embedder half of the guest file-system tests: boots the
 * small kernel with root=host9p on plan86's in-memory file system — either a
 * host tree imported with fs_import (issue #5, "What it must show" 2) or a v86
 * fs.json image whose blobs come on demand (issue #6, "What it must show" 1) —
 * lets the guest run fs-full.sh, then checks its results from the host
 * through plan86_read_file and plan86_create_file — the embedding API, not
 * the guest — and can save files it reads that way for the caller to compare.
 *
 * Usage: fs_mem_guest [OPTION]... KERNEL TREE APPEND
 *        fs_mem_guest [OPTION]... --fs-json URL [--fs-base URL] KERNEL APPEND
 *   --save GUEST_PATH HOST_FILE  after the run, write GUEST_PATH's bytes to HOST_FILE
 *   --create GUEST_PATH TEXT     put TEXT there before the run; it must read back after
 *   --test-may-fail              the guest's fs-full may end with any rc (the caller
 *                                judges its PASS/FAIL lines); by default rc=0 is required
 * Prints the guest console on stdout, one line per failed check on stderr and
 * a summary line "fs_mem_guest: BACKEND: N host-side checks ..."; exits 0 only
 * when the guest test finished and every host-side check passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan86.h"

#define MAX_PAIRS 8

struct path_pair {
    const char *guest_path;
    const char *other;       /* a host file (--save) or the text (--create) */
};

struct options {
    const char *fs_json, *fs_base;
    const char *kernel, *tree, *append;
    struct path_pair save[MAX_PAIRS], create[MAX_PAIRS];
    int nsave, ncreate;
    bool test_may_fail;
};

struct console {
    char tail[4096];
    size_t len;
    bool test_done;          /* "PLAN86-TEST-DONE fs-full rc=" seen */
    bool test_done_ok;       /* ... with rc=0 */
};

struct tally {
    int checks, failures;
};

static void console_out(void *opaque, const uint8_t *bytes, size_t len)
{
    struct console *c = opaque;
    fwrite(bytes, 1, len, stdout);
    for (size_t k = 0; k < len; k++) {
        if (c->len == sizeof c->tail - 1) {
            memmove(c->tail, c->tail + sizeof c->tail / 2, sizeof c->tail / 2);
            c->len -= sizeof c->tail / 2;
        }
        c->tail[c->len++] = (char)bytes[k];
        c->tail[c->len] = '\0';
        if (strstr(c->tail, "PLAN86-TEST-DONE fs-full rc=0")) c->test_done_ok = true;
        if (strstr(c->tail, "PLAN86-TEST-DONE fs-full rc=")) c->test_done = true;
    }
}

static void tally_result(struct tally *t, bool ok)
{
    t->checks++;
    if (!ok) t->failures++;
}

/* The file at `path` in the guest's tree holds exactly `want` (or contains it). */
static void expect_file(struct plan86 *p, struct tally *t, const char *path,
                        const void *want, size_t want_len, bool whole)
{
    void *data = NULL;
    size_t len = 0;
    int e = plan86_read_file(p, path, &data, &len);
    bool ok = e == 0 && (whole ? len == want_len && memcmp(data, want, len) == 0
                               : memmem(data, len, want, want_len) != NULL);
    tally_result(t, ok);
    if (!ok)
        fprintf(stderr, "fs_mem_guest: FAIL %s (errno %d, %zu bytes)\n", path, e, len);
    free(data);
}

static void expect_text(struct plan86 *p, struct tally *t, const char *path, const char *want, bool whole)
{
    expect_file(p, t, path, want, strlen(want), whole);
}

static void expect_absent(struct plan86 *p, struct tally *t, const char *path)
{
    void *data = NULL;
    size_t len;
    bool absent = plan86_read_file(p, path, &data, &len) != 0;
    tally_result(t, absent);
    if (!absent)
        fprintf(stderr, "fs_mem_guest: FAIL %s still exists\n", path);
    free(data);
}

/* Writes the guest's file pair->guest_path to the host file pair->other. */
static void save_to_host(struct plan86 *p, struct tally *t, const struct path_pair *pair)
{
    void *data = NULL;
    size_t len = 0;
    int e = plan86_read_file(p, pair->guest_path, &data, &len);
    FILE *f = e ? NULL : fopen(pair->other, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = false;
    tally_result(t, ok);
    if (!ok)
        fprintf(stderr, "fs_mem_guest: FAIL saving %s to %s (errno %d)\n", pair->guest_path, pair->other,
                e ? e : errno);
    free(data);
}

/* What fs-full.sh leaves in /fs-full.out/ (see its header). */
static void check_fs_full_results(struct plan86 *p, struct tally *t)
{
    expect_text(p, t, "/fs-full.out/text", "first line\nsecond line\n", true);
    expect_text(p, t, "/fs-full.out/truncated", "0123", true);
    expect_text(p, t, "/fs-full.out/renamed", "new\n", true);
    expect_absent(p, t, "/fs-full.out/incoming");
    expect_absent(p, t, "/fs-full.out/doomed");
    expect_text(p, t, "/fs-full.out/hard", "linked\n", true);
    expect_text(p, t, "/fs-full.out/hard2", "linked\n", true);
    expect_text(p, t, "/fs-full.out/many/e0", "", false);
    expect_text(p, t, "/fs-full.out/many/e4999", "", false);
    expect_absent(p, t, "/fs-full.out/many/e5000");
    expect_text(p, t, "/fs-full.out/ls-lR.txt", " soft -> text", false);
    expect_text(p, t, "/fs-full.out/ls-lR.txt", "busybox", false);
}

static int usage(void)
{
    fprintf(stderr, "usage: fs_mem_guest [--save GUEST_PATH HOST_FILE]... [--create GUEST_PATH TEXT]...\n"
                    "           [--test-may-fail] KERNEL TREE APPEND\n"
                    "       fs_mem_guest [OPTION]... --fs-json URL [--fs-base URL] KERNEL APPEND\n");
    return 2;
}

/* Takes the pair after option argv[*k] into list[*n]; false when it does not fit. */
static bool take_pair(int argc, char **argv, int *k, struct path_pair *list, int *n)
{
    if (*k + 2 >= argc || *n == MAX_PAIRS) return false;
    list[*n].guest_path = argv[++*k];
    list[*n].other = argv[++*k];
    ++*n;
    return true;
}

static bool take_value(int argc, char **argv, int *k, const char **value)
{
    if (*k + 1 >= argc) return false;
    *value = argv[++*k];
    return true;
}

static bool parse_options(int argc, char **argv, struct options *o)
{
    int k = 1;
    for (; k < argc && !strncmp(argv[k], "--", 2); k++) {
        bool ok = true;
        if (!strcmp(argv[k], "--save")) ok = take_pair(argc, argv, &k, o->save, &o->nsave);
        else if (!strcmp(argv[k], "--create")) ok = take_pair(argc, argv, &k, o->create, &o->ncreate);
        else if (!strcmp(argv[k], "--fs-json")) ok = take_value(argc, argv, &k, &o->fs_json);
        else if (!strcmp(argv[k], "--fs-base")) ok = take_value(argc, argv, &k, &o->fs_base);
        else if (!strcmp(argv[k], "--test-may-fail")) o->test_may_fail = true;
        else ok = false;
        if (!ok) return false;
    }
    int positional = argc - k;
    if (positional != (o->fs_json ? 2 : 3) || (o->fs_base && !o->fs_json)) return false;
    o->kernel = argv[k++];
    if (!o->fs_json) o->tree = argv[k++];
    o->append = argv[k];
    return true;
}

static struct plan86 *create_machine(const struct options *o)
{
    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.memory_bytes = 256ull << 20;
    cfg.deterministic = true;
    cfg.timeout_ns = 1200ull * 1000000000ull;
    cfg.kernel_path = o->kernel;
    cfg.cmdline = o->append;
    cfg.fs_json = o->fs_json;
    cfg.fs_base = o->fs_base;
    cfg.fs_mem = !o->fs_json;
    cfg.fs_import = o->tree;
    char err[256];
    struct plan86 *p = plan86_create(&cfg, err, sizeof err);
    if (!p) fprintf(stderr, "fs_mem_guest: %s\n", err);
    return p;
}

static bool create_files(struct plan86 *p, const struct options *o)
{
    for (int k = 0; k < o->ncreate; k++) {
        const struct path_pair *c = &o->create[k];
        int e = plan86_create_file(p, c->guest_path, c->other, strlen(c->other));
        if (e) {
            fprintf(stderr, "fs_mem_guest: FAIL plan86_create_file %s: %s\n", c->guest_path, strerror(e));
            return false;
        }
    }
    return true;
}

/* Runs the guest; true when fs-full finished (with rc=0 unless that may fail). */
static bool run_guest(struct plan86 *p, const struct options *o)
{
    struct console con = { 0 };
    plan86_set_console(p, console_out, &con);
    enum plan86_stop_reason why = plan86_run(p);
    fflush(stdout);
    bool finished = o->test_may_fail ? con.test_done : con.test_done_ok;
    if (why != PLAN86_STOP_POWEROFF || !finished) {
        fprintf(stderr, "fs_mem_guest: FAIL the guest run (%s)\n", plan86_stop_message(p));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct options o = { 0 };
    if (!parse_options(argc, argv, &o)) return usage();
    struct plan86 *p = create_machine(&o);
    if (!p) return 1;
    if (!create_files(p, &o) || !run_guest(p, &o)) {
        plan86_destroy(p);
        return 1;
    }
    struct tally t = { 0 };
    check_fs_full_results(p, &t);
    for (int k = 0; k < o.nsave; k++)
        save_to_host(p, &t, &o.save[k]);
    for (int k = 0; k < o.ncreate; k++)
        expect_text(p, &t, o.create[k].guest_path, o.create[k].other, true);
    plan86_destroy(p);
    printf("fs_mem_guest: %s: %d host-side checks through plan86_read_file, %d failed\n",
           o.fs_json ? "json" : "mem", t.checks, t.failures);
    return t.failures ? 1 : 0;
}
