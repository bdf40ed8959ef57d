/* api.c — the public embedding API (include/plan86.h) over struct machine.
 *
 * Promises: plan86_create checks the whole config before building anything,
 * loads firmware (a 64 or 128 KiB image mapped just below 1 MiB and just
 * below 4 GiB, as on a PC, with fw_cfg filled for it and a kernel, if
 * given, handed over through fw_cfg as QEMU does), the demo ROM, or a Linux
 * kernel for direct boot (PCI resources assigned and the kernel loaded again
 * after every reset, as there is no firmware to do it), opens the port logs,
 * and reports one line
 * on failure. Serial input is offered to COM1 between CPU slices and kept
 * until the UART takes it.
 */
#include "plan86.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bios/fwcfg_boot.h"
#include "bios/linuxboot.h"
#include "bios/pci_assign.h"
#include "board.h"
#include "cpu/cpu.h"
#include "demo.h"
#include "devices/rtc.h"
#include "fs9p/backend_hostdir.h"
#include "fs9p/backend_json.h"
#include "fs9p/backend_mem.h"
#include "fs_import.h"
#include "machine.h"

#define STRINGIFY(x) #x
#define EXPAND_STRINGIFY(x) STRINGIFY(x)
#define PORT_LOGS_TEXT EXPAND_STRINGIFY(PLAN86_MAX_PORT_LOGS)

struct plan86 {
    struct machine *m;
    struct p9_backend *mem_fs;       /* the mem tree of fs_mem or fs_json (owned by the server) */
    uint64_t fs_epoch_ns;            /* file times: this + virtual time */
    struct p9_backend fs_backend;
    /* direct Linux boot, repeated after a reset */
    char *kernel_path, *initrd_path, *cmdline;
    /* serial input fetched but not yet taken by the UART */
    plan86_input_fn input_fn;
    void *input_opaque;
    uint8_t input[256];
    size_t input_len, input_pos;
};

void plan86_config_defaults(struct plan86_config *cfg)
{
    *cfg = (struct plan86_config){
        .memory_bytes = 128ull << 20,
        .ns_per_insn = 1,
    };
}

static const char *config_problem(const struct plan86_config *cfg)
{
    if (cfg->memory_bytes < PLAN86_MIN_MEMORY || cfg->memory_bytes > PLAN86_MAX_MEMORY)
        return "memory size must be between 1 MiB and 3 GiB";
    if (cfg->memory_bytes % 4096)
        return "memory size must be a multiple of 4 KiB";
    if (cfg->ns_per_insn == 0)
        return "ns_per_insn must be at least 1";
    if (cfg->demo && cfg->bios_path)
        return "--demo and --bios are mutually exclusive";
    if (cfg->kernel_path && cfg->demo)
        return "--kernel and --demo are mutually exclusive";
    if (!cfg->kernel_path && (cfg->initrd_path || cfg->cmdline))
        return "--initrd and --append need --kernel";
    if ((cfg->fs_dir != NULL) + cfg->fs_mem + (cfg->fs_json != NULL) > 1)
        return "--fs-dir, --fs-mem and --fs-json are mutually exclusive (one 9p back end)";
    if ((cfg->fs_base || cfg->fs_cache_bytes || cfg->fs_cache_dir || cfg->fs_prefetch) && !cfg->fs_json)
        return "--fs-base, --fs-cache, --fs-cache-dir and --fs-prefetch need --fs-json";
    if (cfg->fs_import && !cfg->fs_mem)
        return "--fs-import copies a host tree into the in-memory file system: it needs --fs-mem";
    if (cfg->fs_tag && !cfg->fs_dir && !cfg->fs_mem && !cfg->fs_json)
        return "--fs-tag needs a file system: --fs-dir DIR, --fs-mem or --fs-json";
    if (cfg->fs_tag && (!*cfg->fs_tag || strlen(cfg->fs_tag) > 64))
        return "--fs-tag: the mount tag must be 1 to 64 bytes";
    if (cfg->nport_logs < 0 || cfg->nport_logs > PLAN86_MAX_PORT_LOGS)
        return "too many port logs (at most " PORT_LOGS_TEXT ")";
    return NULL;
}

/* Reads a whole firmware file of 64 or 128 KiB into buf. */
static bool read_bios(const char *path, uint8_t *buf, uint32_t *size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open BIOS image %s: %s", path, strerror(errno));
        return false;
    }
    size_t got = fread(buf, 1, 128 * 1024 + 1, f);
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        snprintf(err, err_size, "cannot read BIOS image %s", path);
        return false;
    }
    if (got != 64 * 1024 && got != 128 * 1024) {
        snprintf(err, err_size, "BIOS image %s is %zu bytes; it must be 64 or 128 KiB", path, got);
        return false;
    }
    *size = (uint32_t)got;
    return true;
}

static bool load_bios(struct machine *m, const char *path, char *err, size_t err_size)
{
    uint8_t *buf = malloc(128 * 1024 + 1);
    if (!buf) {
        snprintf(err, err_size, "out of memory loading the BIOS image");
        return false;
    }
    uint32_t size = 0;
    bool ok = read_bios(path, buf, &size, err, err_size);
    const uint32_t bases[] = { 0x100000u - size, (uint32_t)(0x100000000ull - size) };
    for (size_t k = 0; ok && k < 2; k++) {
        const char *why = machine_map_rom(m, bases[k], buf, size);
        if (why) {
            snprintf(err, err_size, "cannot map BIOS image: %s", why);
            ok = false;
        }
    }
    free(buf);
    return ok;
}

static bool open_port_logs(struct machine *m, const struct plan86_config *cfg, char *err, size_t err_size)
{
    for (int k = 0; k < cfg->nport_logs; k++) {
        const struct plan86_port_log *log = &cfg->port_logs[k];
        if (!machine_add_port_log(m, log->port, log->path, err, err_size))
            return false;
    }
    return true;
}

static bool load_demo(struct machine *m, char *err, size_t err_size)
{
    const char *why = demo_load(m);
    if (why)
        snprintf(err, err_size, "cannot map the demo ROM: %s", why);
    return !why;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Firmware's part of a direct boot: PCI resources, then the kernel. */
static bool boot_linux(struct plan86 *p, char *err, size_t err_size)
{
    const char *why = pci_assign_resources(&p->m->board->pci, PCI_ASSIGN_MEM_BASE);
    if (why) {
        snprintf(err, err_size, "PCI resource assignment: %s", why);
        return false;
    }
    return linuxboot_setup(p->m, p->kernel_path, p->initrd_path, p->cmdline, err, err_size);
}

static void boot_linux_after_reset(void *opaque)
{
    struct plan86 *p = opaque;
    char err[256];
    if (!boot_linux(p, err, sizeof err))
        machine_request_stop(p->m, PLAN86_STOP_RESET, err);
}

static bool setup_linux_boot(struct plan86 *p, const struct plan86_config *cfg, char *err, size_t err_size)
{
    p->kernel_path = dup_or_null(cfg->kernel_path);
    p->initrd_path = dup_or_null(cfg->initrd_path);
    p->cmdline = dup_or_null(cfg->cmdline ? cfg->cmdline : "");
    if (!p->kernel_path || !p->cmdline || (cfg->initrd_path && !p->initrd_path)) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    p->m->after_reset = boot_linux_after_reset;
    p->m->after_reset_opaque = p;
    return boot_linux(p, err, err_size);
}

/* Firmware boot: the firmware's debug console, and fw_cfg filled for it,
 * with the kernel to hand over when there is one (fwcfg_boot.h). */
static bool setup_firmware_boot(struct machine *m, const struct plan86_config *cfg, char *err, size_t err_size)
{
    const char *why = machine_attach_firmware_debug_port(m);
    if (why) {
        snprintf(err, err_size, "firmware debug port: %s", why);
        return false;
    }
    const struct fwcfg_boot_linux kernel = {
        .kernel_path = cfg->kernel_path, .initrd_path = cfg->initrd_path, .cmdline = cfg->cmdline,
    };
    return fwcfg_boot_setup(&m->board->fw_cfg, m->ram_size, cfg->kernel_path ? &kernel : NULL, err, err_size);
}

/* Between CPU slices: offer pending input to COM1, fetching more when empty. */
static void poll_serial_input(void *opaque)
{
    struct plan86 *p = opaque;
    if (p->input_pos == p->input_len && p->input_fn) {
        p->input_len = p->input_fn(p->input_opaque, p->input, sizeof p->input);
        p->input_pos = 0;
    }
    if (p->input_pos < p->input_len)
        p->input_pos += plan86_serial_type(p, p->input + p->input_pos, p->input_len - p->input_pos);
}

void plan86_set_serial_input(struct plan86 *p, plan86_input_fn fn, void *opaque)
{
    p->input_fn = fn;
    p->input_opaque = opaque;
    p->m->poll_input = poll_serial_input;
    p->m->poll_input_opaque = p;
}

size_t plan86_serial_type(struct plan86 *p, const uint8_t *bytes, size_t len)
{
    return p->m->board ? uart_receive(&p->m->board->com1, bytes, len) : 0;
}

/* File times of the mem back end follow the guest's clock (deterministic runs
 * stay deterministic). */
static uint64_t fs_clock(void *ctx)
{
    struct plan86 *p = ctx;
    return p->fs_epoch_ns + machine_now_ns(p->m);
}

/* Blob fetches finish on the guest thread, between CPU slices. */
static void post_to_guest_thread(void *ctx, void (*fn)(void *arg), void *arg)
{
    struct plan86 *p = ctx;
    if (!machine_post(p->m, fn, arg)) {   /* 24 bytes: the host is out of memory */
        fputs("plan86: out of memory\n", stderr);
        abort();
    }
}

static bool setup_mem_tree(struct plan86 *p, const struct plan86_config *cfg, char *err, size_t err_size)
{
    struct p9_mem_config mc = { .clock = fs_clock, .clock_ctx = p };
    if (p9_mem_new(&mc, &p->fs_backend) != 0) {
        snprintf(err, err_size, "out of memory for the in-memory file system");
        return false;
    }
    if (cfg->fs_import && fs_import_tree(&p->fs_backend, cfg->fs_import, err, err_size) != 0) {
        p->fs_backend.ops->destroy(p->fs_backend.be);
        return false;
    }
    return true;
}

/* A v86 image: fetched in the background, or on the guest thread when the
 * run must be deterministic. Progress lines only where a person watches. */
static bool setup_json_tree(struct plan86 *p, const struct plan86_config *cfg, char *err, size_t err_size)
{
    struct p9_json_config jc = {
        .index = cfg->fs_json, .base = cfg->fs_base, .cache_bytes = cfg->fs_cache_bytes,
        .cache_dir = cfg->fs_cache_dir, .prefetch = cfg->fs_prefetch,
        .synchronous = cfg->deterministic, .post = post_to_guest_thread, .post_ctx = p,
        .progress = isatty(STDERR_FILENO), .clock = fs_clock, .clock_ctx = p,
    };
    return p9_json_new(&jc, &p->fs_backend, err, err_size) == 0;
}

static bool setup_file_system(struct plan86 *p, const struct plan86_config *cfg, char *err, size_t err_size)
{
    p->fs_epoch_ns = (uint64_t)rtc_default_start_time(cfg->deterministic) * 1000000000ull;
    bool ok = cfg->fs_dir ? hostdir_backend_new(cfg->fs_dir, &p->fs_backend, err, err_size) == 0
            : cfg->fs_json ? setup_json_tree(p, cfg, err, err_size)
            : setup_mem_tree(p, cfg, err, err_size);
    if (!ok)
        return false;
    p->mem_fs = cfg->fs_dir ? NULL : &p->fs_backend;
    const char *why = board_attach_9p(p->m, p->m->board, &p->fs_backend, cfg->fs_tag);
    if (why)
        snprintf(err, err_size, "virtio-9p: %s", why);
    return !why;
}

int plan86_create_file(struct plan86 *p, const char *path, const void *data, size_t len)
{
    return p->mem_fs ? p9_mem_create_file(p->mem_fs, path, data, len) : ENOTSUP;
}

int plan86_read_file(struct plan86 *p, const char *path, void **data, size_t *len)
{
    return p->mem_fs ? p9_mem_read_file(p->mem_fs, path, data, len) : ENOTSUP;
}

struct plan86 *plan86_create(const struct plan86_config *cfg, char *err, size_t err_size)
{
    const char *problem = config_problem(cfg);
    if (problem) {
        snprintf(err, err_size, "%s", problem);
        return NULL;
    }
    struct plan86 *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    p->m = machine_new((uint32_t)cfg->memory_bytes, cfg->deterministic, cfg->ns_per_insn, err, err_size);
    bool ok = p->m != NULL;
    if (ok && (cfg->fs_dir || cfg->fs_mem || cfg->fs_json))
        ok = setup_file_system(p, cfg, err, err_size);
    if (ok && cfg->bios_path)
        ok = load_bios(p->m, cfg->bios_path, err, err_size) && setup_firmware_boot(p->m, cfg, err, err_size);
    if (ok && cfg->demo)
        ok = load_demo(p->m, err, err_size);
    if (ok && cfg->kernel_path && !cfg->bios_path)
        ok = setup_linux_boot(p, cfg, err, err_size);
    if (ok)
        ok = open_port_logs(p->m, cfg, err, err_size);
    if (!ok) {
        plan86_destroy(p);
        return NULL;
    }
    p->m->timeout_ns = cfg->timeout_ns;
    p->m->no_reboot = cfg->no_reboot;
    return p;
}

void plan86_destroy(struct plan86 *p)
{
    if (!p)
        return;
    machine_free(p->m);
    free(p->kernel_path);
    free(p->initrd_path);
    free(p->cmdline);
    free(p);
}

void plan86_set_console(struct plan86 *p, plan86_console_fn fn, void *opaque)
{
    p->m->console_fn = fn;
    p->m->console_opaque = opaque;
}

enum plan86_stop_reason plan86_run(struct plan86 *p)
{
    return machine_run(p->m);
}

void plan86_stop(struct plan86 *p)
{
    atomic_store(&p->m->stop_requested, true);
}

const char *plan86_stop_message(const struct plan86 *p)
{
    return p->m->stop_msg[0] ? p->m->stop_msg : "not run yet";
}

void plan86_get_stats(const struct plan86 *p, struct plan86_stats *out)
{
    *out = (struct plan86_stats){
        .instructions = cpu_icount(p->m->cpu),
        .virtual_ns = machine_now_ns(p->m),
        .wall_ns = p->m->wall_ns,
        .resets = p->m->resets,
    };
}
