/* bench-qemu.c — times guest loops under qemu-system-i386 (bench-qemu.h).
 *
 * Image layout (loaded at QEMU_LOOP_IMAGE_BASE): page 0 holds the multiboot
 * header and the driver; loop k sits alone on page k+1. For each loop the
 * driver sends 'a'+k to port 0xE9, loads all eight registers, calls the loop,
 * then sends 'A'+k. Finally it writes 0 to the isa-debug-exit port (QEMU exits
 * with status 1) and halts should that device be missing.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench-qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    PAGE = 4096,
    MB_MAGIC = 0x1BADB002, MB_FLAG_ADDRESSES = 1 << 16, MB_HEADER_SIZE = 32,
    DEBUGCON_PORT = 0xE9, DEBUG_EXIT_PORT = 0xF4,
    QEMU_EXIT_STATUS = 1,            /* isa-debug-exit: (value << 1) | 1, value 0 */
    MARKER_TIMEOUT_MS = 300 * 1000,  /* longest wait for the next marker */
};

/* x86 encodings the driver is made of. */
enum {
    OP_MOV_AL_IMM8 = 0xB0, OP_OUT_IMM8_AL = 0xE6, OP_MOV_R32_IMM32 = 0xB8,
    OP_CALL_REL32 = 0xE8, OP_HLT = 0xF4, OP_RET = 0xC3, OP_JMP_REL8 = 0xEB,
};

/* Driver bytes: per loop two markers, eight register loads and a call; then
 * the exit write and the halt loop. They must fit page 0 after the header. */
enum { DRIVER_PER_LOOP = 4 + 8 * 5 + 5 + 4, DRIVER_TAIL = 4 + 3 };
_Static_assert(MB_HEADER_SIZE + QEMU_MAX_LOOPS * DRIVER_PER_LOOP + DRIVER_TAIL <= PAGE,
               "the driver outgrows its page");

struct image {
    uint8_t *bytes;
    size_t size;
    size_t pos;     /* where the driver emits next */
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static void emit8(struct image *im, uint8_t v) { im->bytes[im->pos++] = v; }

static void emit32(struct image *im, uint32_t v)
{
    put32(im->bytes + im->pos, v);
    im->pos += 4;
}

static uint32_t guest_addr(size_t offset) { return QEMU_LOOP_IMAGE_BASE + (uint32_t)offset; }

static void emit_out_byte(struct image *im, uint8_t port, uint8_t value)
{
    emit8(im, OP_MOV_AL_IMM8);
    emit8(im, value);
    emit8(im, OP_OUT_IMM8_AL);
    emit8(im, port);
}

static void emit_call(struct image *im, size_t target)
{
    emit8(im, OP_CALL_REL32);
    emit32(im, guest_addr(target) - guest_addr(im->pos + 4));
}

static void put_multiboot_header(struct image *im, size_t entry)
{
    const uint32_t fields[MB_HEADER_SIZE / 4] = {
        MB_MAGIC, MB_FLAG_ADDRESSES, (uint32_t)-(MB_MAGIC + MB_FLAG_ADDRESSES),
        guest_addr(0),              /* header_addr */
        guest_addr(0),              /* load_addr */
        guest_addr(im->size),       /* load_end_addr */
        0,                          /* bss_end_addr: no BSS */
        guest_addr(entry),
    };
    for (size_t k = 0; k < MB_HEADER_SIZE / 4; k++) put32(im->bytes + 4 * k, fields[k]);
}

/* Builds the whole image; NULL bytes when out of memory. */
static struct image build_image(const struct qemu_loop *loops, size_t count)
{
    struct image im = { .size = (count + 1) * PAGE, .pos = MB_HEADER_SIZE };
    im.bytes = calloc(1, im.size);
    if (!im.bytes) return im;
    put_multiboot_header(&im, MB_HEADER_SIZE);
    for (size_t k = 0; k < count; k++) {
        size_t at = (k + 1) * PAGE;
        memcpy(im.bytes + at, loops[k].code, loops[k].code_len);
        im.bytes[at + loops[k].exit_offset] = OP_RET;
        emit_out_byte(&im, DEBUGCON_PORT, (uint8_t)('a' + k));
        for (int r = 0; r < 8; r++) {
            emit8(&im, (uint8_t)(OP_MOV_R32_IMM32 + r));
            emit32(&im, loops[k].regs[r]);
        }
        emit_call(&im, at);
        emit_out_byte(&im, DEBUGCON_PORT, (uint8_t)('A' + k));
    }
    emit_out_byte(&im, DEBUG_EXIT_PORT, 0);
    emit8(&im, OP_HLT);
    emit8(&im, OP_JMP_REL8);
    emit8(&im, (uint8_t)-3);
    return im;
}

static bool loops_fit(const struct qemu_loop *loops, size_t count)
{
    if (count == 0 || count > QEMU_MAX_LOOPS) return false;
    for (size_t k = 0; k < count; k++)
        if (loops[k].code_len > QEMU_MAX_LOOP_BYTES || loops[k].exit_offset >= loops[k].code_len
            || loops[k].code[loops[k].exit_offset] != OP_HLT)
            return false;
    return true;
}

/* True when `name` is an executable file in a PATH directory. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path) return false;
    char candidate[4096];
    for (const char *dir = path; ; ) {
        const char *end = strchr(dir, ':');
        int len = end ? (int)(end - dir) : (int)strlen(dir);
        int n = snprintf(candidate, sizeof candidate, "%.*s/%s", len ? len : 1, len ? dir : ".", name);
        if (n < (int)sizeof candidate && access(candidate, X_OK) == 0) return true;
        if (!end) return false;
        dir = end + 1;
    }
}

/* Writes the image to a new temporary file; its name goes to `path`. */
static bool write_image_file(const struct image *im, char *path, size_t path_size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, path_size, "%s/plan86-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return false;
    bool ok = write(fd, im->bytes, im->size) == (ssize_t)im->size;
    if (close(fd) != 0) ok = false;
    if (!ok) unlink(path);
    return ok;
}

/* Starts QEMU on the image with the debug console on a pipe; returns its pid
 * and the pipe's read end in *out_fd, or -1. */
static pid_t start_qemu(const char *image_path, int *out_fd)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0)
            _exit(126);
        close(p[0]);
        char *const argv[] = {
            QEMU_BINARY, "-accel", "tcg", "-display", "none", "-nodefaults", "-no-reboot",
            "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", (char *)image_path, NULL,
        };
        execvp(QEMU_BINARY, argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *out_fd = p[0];
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads markers until EOF, noting when each loop began and ended. False on a
 * stall (QEMU stuck: then it is killed) or a read error. */
static bool collect_markers(pid_t pid, int fd, size_t count, double *begin, double *end)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll(&pfd, 1, MARKER_TIMEOUT_MS);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            kill(pid, SIGKILL);
            return false;
        }
        uint8_t buf[64];
        ssize_t got = read(fd, buf, sizeof buf);
        double t = now_s();
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got == 0;
        for (ssize_t i = 0; i < got; i++) {
            size_t k_begin = (size_t)buf[i] - 'a', k_end = (size_t)buf[i] - 'A';
            if (k_begin < count) begin[k_begin] = t;
            else if (k_end < count) end[k_end] = t;
        }
    }
}

static bool qemu_exited_cleanly(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == QEMU_EXIT_STATUS;
}

/* Boots the image and fills seconds[]; false (with a message) on any failure. */
static bool run_image(const char *image_path, size_t count, double *seconds)
{
    double begin[QEMU_MAX_LOOPS], end[QEMU_MAX_LOOPS];
    for (size_t k = 0; k < count; k++) begin[k] = end[k] = -1;
    int fd;
    pid_t pid = start_qemu(image_path, &fd);
    if (pid < 0) {
        fprintf(stderr, "bench-qemu: cannot start %s: %s\n", QEMU_BINARY, strerror(errno));
        return false;
    }
    bool read_ok = collect_markers(pid, fd, count, begin, end);
    close(fd);
    bool exit_ok = qemu_exited_cleanly(pid);
    for (size_t k = 0; k < count; k++) {
        if (begin[k] < 0 || end[k] < begin[k]) {
            fprintf(stderr, "bench-qemu: loop %zu did not finish under QEMU%s\n", k,
                    read_ok ? "" : " (stalled: killed)");
            return false;
        }
        seconds[k] = end[k] - begin[k];
    }
    if (!exit_ok) fprintf(stderr, "bench-qemu: QEMU did not exit through isa-debug-exit\n");
    return exit_ok;
}

enum qemu_status qemu_time_loops(const struct qemu_loop *loops, size_t count, double *seconds)
{
    if (!on_path(QEMU_BINARY)) return QEMU_ABSENT;
    if (!loops_fit(loops, count)) {
        fprintf(stderr, "bench-qemu: loops do not fit the image (count, size or exit HLT)\n");
        return QEMU_FAILED;
    }
    struct image im = build_image(loops, count);
    char path[4096];
    bool written = im.bytes && write_image_file(&im, path, sizeof path);
    free(im.bytes);
    if (!written) {
        fprintf(stderr, "bench-qemu: cannot write the guest image: %s\n", strerror(errno));
        return QEMU_FAILED;
    }
    bool ok = run_image(path, count, seconds);
    unlink(path);
    return ok ? QEMU_OK : QEMU_FAILED;
}
