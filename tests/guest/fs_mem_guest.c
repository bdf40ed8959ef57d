/* fs_mem_guest.c — the mem back-end half of the guest file-system test
 * (issue #5, "What it must show" 2): boots the small kernel with root=host9p on
 * the in-memory file system (the root tree imported with fs_import), lets the
 * guest run fs-full.sh, then checks its results from the host through
 * plan86_read_file — the embedding API, not the guest.
 *
 * Usage: fs_mem_guest KERNEL TREE APPEND
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan86.h"

struct console {
    char tail[4096];
    size_t len;
    bool test_done_ok;
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
    }
}

static int checks, failures;

/* The file at `path` in the guest's tree holds exactly `want` (or contains it). */
static void expect_file(struct plan86 *p, const char *path, const char *want, bool whole)
{
    void *data = NULL;
    size_t len = 0;
    int e = plan86_read_file(p, path, &data, &len);
    bool ok = e == 0 && (whole ? len == strlen(want) && memcmp(data, want, len) == 0
                               : memmem(data, len, want, strlen(want)) != NULL);
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "fs_mem_guest: FAIL %s (errno %d, %zu bytes)\n", path, e, len);
    }
    free(data);
}

static void expect_absent(struct plan86 *p, const char *path)
{
    void *data = NULL;
    size_t len;
    checks++;
    if (plan86_read_file(p, path, &data, &len) == 0) {
        failures++;
        fprintf(stderr, "fs_mem_guest: FAIL %s still exists\n", path);
    }
    free(data);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fs_mem_guest KERNEL TREE APPEND\n");
        return 2;
    }
    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.memory_bytes = 256ull << 20;
    cfg.deterministic = true;
    cfg.timeout_ns = 1200ull * 1000000000ull;
    cfg.kernel_path = argv[1];
    cfg.fs_mem = true;
    cfg.fs_import = argv[2];
    cfg.cmdline = argv[3];
    char err[256];
    struct plan86 *p = plan86_create(&cfg, err, sizeof err);
    if (!p) {
        fprintf(stderr, "fs_mem_guest: %s\n", err);
        return 1;
    }
    struct console con = { 0 };
    plan86_set_console(p, console_out, &con);
    enum plan86_stop_reason why = plan86_run(p);
    fflush(stdout);
    if (why != PLAN86_STOP_POWEROFF || !con.test_done_ok) {
        fprintf(stderr, "fs_mem_guest: FAIL the guest run (%s)\n", plan86_stop_message(p));
        plan86_destroy(p);
        return 1;
    }
    expect_file(p, "/fs-full.out/text", "first line\nsecond line\n", true);
    expect_file(p, "/fs-full.out/truncated", "0123", true);
    expect_file(p, "/fs-full.out/renamed", "new\n", true);
    expect_absent(p, "/fs-full.out/incoming");
    expect_absent(p, "/fs-full.out/doomed");
    expect_file(p, "/fs-full.out/hard", "linked\n", true);
    expect_file(p, "/fs-full.out/hard2", "linked\n", true);
    expect_file(p, "/fs-full.out/many/e0", "", false);
    expect_file(p, "/fs-full.out/many/e4999", "", false);
    expect_absent(p, "/fs-full.out/many/e5000");
    expect_file(p, "/fs-full.out/ls-lR.txt", " soft -> text", false);
    expect_file(p, "/fs-full.out/ls-lR.txt", "busybox", false);
    plan86_destroy(p);
    printf("fs_mem_guest: mem: %d host-side checks through plan86_read_file, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
