/* plan86.h — the embedding API of the plan86 PC emulator.
 *
 * Promises: a machine is created from a plain config struct, runs on the
 * calling thread until it stops (guest halted for good, triple fault with
 * no_reboot, plan86_stop, or the timeout), and reports why it stopped and how
 * much it ran. A triple fault otherwise resets the machine, as on a PC. Guest
 * console output reaches the embedder through one callback; bytes written to
 * chosen I/O ports can also be appended to files (port logs).
 * Everything belongs to the machine: two machines can live in one process.
 */
#ifndef PLAN86_H
#define PLAN86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct plan86;

/* Guest RAM bounds: at least the real-mode megabyte, below the PCI hole. */
#define PLAN86_MIN_MEMORY (1ull << 20)
#define PLAN86_MAX_MEMORY (3ull << 30)

/* Port logs: every byte the guest writes to `port` is appended to the file
 * at `path` (like QEMU's debugcon). The port keeps working for its device. */
#define PLAN86_MAX_PORT_LOGS 8
struct plan86_port_log {
    uint16_t port;
    const char *path;
};

struct plan86_config {
    uint64_t memory_bytes;   /* guest RAM: a multiple of 4 KiB within the bounds above */
    const char *bios_path;   /* 64 or 128 KiB firmware image, or NULL */
    bool demo;               /* run the built-in protected-mode demo program */
    bool deterministic;      /* virtual time = instructions x ns_per_insn */
    uint32_t ns_per_insn;    /* deterministic mode: virtual ns per instruction */
    uint64_t timeout_ns;     /* stop after this much virtual time; 0 = never */
    bool no_reboot;          /* a triple fault or guest reset stops the run instead */
    const char *kernel_path; /* direct Linux boot (no BIOS): a bzImage, or NULL */
    const char *initrd_path; /* with kernel_path: an initrd, or NULL */
    const char *cmdline;     /* with kernel_path: the kernel command line, or NULL */
    /* The virtio-9p file system (PCI 00:03.0), present when a back end is
     * chosen: a host directory (confined beneath it), an in-memory tree, or
     * a v86 fs.json image whose files are fetched when first read. */
    const char *fs_dir;
    bool fs_mem;
    const char *fs_import;   /* with fs_mem: a host directory copied into the tree at start */
    const char *fs_json;     /* the image's fs.json: http(s):// or file:// URL, or a path */
    const char *fs_base;     /* with fs_json: where its blobs are; NULL: beside the fs.json */
    uint64_t fs_cache_bytes; /* with fs_json: in-memory blob cache; 0: 64 MiB */
    const char *fs_cache_dir;/* with fs_json: keep fetched blobs here for later runs */
    const char *fs_prefetch; /* with fs_json: a file of guest paths to fetch at start */
    const char *fs_tag;      /* mount tag; NULL: "host9p" */
    struct plan86_port_log port_logs[PLAN86_MAX_PORT_LOGS];
    int nport_logs;
};

/* Defaults: 128 MiB, no firmware, realtime, 1 ns per instruction, no timeout,
 * reset on triple fault, no port logs. */
void plan86_config_defaults(struct plan86_config *cfg);

/* Builds a machine. On failure returns NULL and writes one line (no newline)
 * saying what was wrong into err. */
struct plan86 *plan86_create(const struct plan86_config *cfg, char *err, size_t err_size);
void plan86_destroy(struct plan86 *p);

/* Guest console output (the debug console at port 0xE9 for now). */
typedef void (*plan86_console_fn)(void *opaque, const uint8_t *bytes, size_t len);
void plan86_set_console(struct plan86 *p, plan86_console_fn fn, void *opaque);

enum plan86_stop_reason {
    PLAN86_STOP_REQUESTED,   /* plan86_stop was called */
    PLAN86_STOP_HALTED,      /* HLT with interrupts off: nothing can ever wake it */
    PLAN86_STOP_IDLE,        /* deterministic: halted with no timer left to wake it */
    PLAN86_STOP_SHUTDOWN,    /* triple fault with no_reboot */
    PLAN86_STOP_TIMEOUT,     /* virtual time reached timeout_ns */
    PLAN86_STOP_POWEROFF,    /* the guest powered the machine off (ACPI S5) */
    PLAN86_STOP_RESET,       /* the guest reset the machine with no_reboot set */
};

/* Serial input: plan86 calls `fn` between slices of guest time to fetch up to
 * `cap` bytes for COM1 (return 0 when there are none); bytes are never lost. */
typedef size_t (*plan86_input_fn)(void *opaque, uint8_t *buf, size_t cap);
void plan86_set_serial_input(struct plan86 *p, plan86_input_fn fn, void *opaque);
/* Types bytes into COM1 now (from the guest thread, e.g. a console callback).
 * Returns how many were taken (the rest: offer again later). */
size_t plan86_serial_type(struct plan86 *p, const uint8_t *bytes, size_t len);

/* The in-memory file systems (fs_mem, fs_json): puts a file in (parents
 * created) and takes one out (*data is malloc'd: free it; a file of an
 * fs.json image not fetched yet is fetched first, blocking). Return 0 or an
 * errno (ENOTSUP on a host directory). */
int plan86_create_file(struct plan86 *p, const char *path, const void *data, size_t len);
int plan86_read_file(struct plan86 *p, const char *path, void **data, size_t *len);

/* Runs until the machine stops; may be called again after a stop request. */
enum plan86_stop_reason plan86_run(struct plan86 *p);
/* Asks plan86_run to return soon. Safe from another thread or a signal handler. */
void plan86_stop(struct plan86 *p);
/* One line describing the last stop, e.g. "the CPU halted for good (HLT with
 * interrupts disabled)". */
const char *plan86_stop_message(const struct plan86 *p);

struct plan86_stats {
    uint64_t instructions;   /* retired guest instructions */
    uint64_t virtual_ns;     /* guest time */
    uint64_t wall_ns;        /* host time spent inside plan86_run */
    uint64_t resets;         /* machine resets (triple faults) so far */
};
void plan86_get_stats(const struct plan86 *p, struct plan86_stats *out);

#ifdef __cplusplus
}
#endif

#endif
