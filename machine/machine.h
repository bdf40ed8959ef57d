/* machine.h — the board: what devices and the public API see of a machine.
 *
 * Promises: struct machine owns everything of one emulated PC (RAM, memory
 * map, port bus, IRQ lines and controller, virtual clock and timers, CPU,
 * console hook); there is no global state. Devices use only the functions
 * below: map memory, claim ports, drive IRQ lines, read the clock and arm
 * timers, write console bytes. Anything other than the CPU that writes guest
 * RAM goes through machine_phys_write so the CPU drops stale decoded code.
 * A triple fault resets the board (machine_reset) unless no_reboot is set,
 * in which case the run stops.
 */
#ifndef PLAN86_MACHINE_H
#define PLAN86_MACHINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_events.h"
#include "irq.h"
#include "memmap.h"
#include "plan86.h"
#include "portio.h"
#include "portlog.h"
#include "scheduler.h"
#include "vclock.h"

struct cpu;
struct board;

#define MACHINE_MAX_ROMS 8
#define MACHINE_MAX_RESET_HOOKS 32

struct reset_hook {
    void (*fn)(void *opaque);
    void *opaque;
};

struct machine {
    uint8_t *ram;
    uint32_t ram_size;
    uint8_t *roms[MACHINE_MAX_ROMS];
    int nroms;
    struct memmap mem;
    struct memmap power_on_mem;    /* the map as assembled, restored on reset */
    bool power_on_mem_saved;       /* taken when the guest first runs */
    struct portbus io;
    struct port_logs port_logs;

    struct irq_lines irq;
    struct irq_basic basic_intc;   /* the controller until the PIC replaces it */
    bool intr_level;               /* INTR as the controller drives it */

    struct vclock clock;
    struct sched sched;
    uint64_t timeout_ns;           /* 0 = none */
    bool in_cpu_run;
    uint64_t run_limit_ns;         /* virtual time the current CPU slice aims for */
    uint64_t wall_ns;

    struct cpu *cpu;
    struct board *board;           /* the PC devices; NULL on a bare machine */

    struct reset_hook reset_hooks[MACHINE_MAX_RESET_HOOKS];
    int nreset_hooks;
    bool no_reboot;                /* triple fault: stop instead of resetting */
    bool reset_pending;            /* triple fault seen inside the CPU slice */
    uint64_t resets;

    void (*after_reset)(void *opaque);   /* e.g. direct Linux boot loads the kernel again */
    void *after_reset_opaque;
    void (*poll_input)(void *opaque);    /* called between CPU slices */
    void *poll_input_opaque;
    plan86_console_fn console_fn;
    void *console_opaque;

    struct host_events events;     /* work posted by other host threads */
    atomic_bool stop_requested;    /* plan86_stop, any thread */
    bool stopping;
    enum plan86_stop_reason stop_reason;
    char stop_msg[160];
};

/* Board life cycle: RAM of ram_size bytes at 0, the CPU, the debug console
 * and the PC devices (board.h). */
struct machine *machine_new(uint32_t ram_size, bool deterministic, uint32_t ns_per_insn,
                            char *err, size_t err_size);
/* The same without the PC devices: RAM, CPU, debug console and the stand-in
 * interrupt controller, for unit tests that attach their own devices. */
struct machine *machine_new_bare(uint32_t ram_size, bool deterministic, uint32_t ns_per_insn,
                                 char *err, size_t err_size);
void machine_free(struct machine *m);
enum plan86_stop_reason machine_run(struct machine *m);
/* RESET: the memory map as it was when the guest first ran (firmware mapped
 * back where it started), every reset hook in the order added, the stand-in
 * interrupt controller's pending edges dropped, then the CPU's power-on
 * state. RAM, the clock and armed timers are kept (devices cancel their own
 * timers in their hooks). */
void machine_reset(struct machine *m);
/* Devices with state register what a reset does to it. NULL or why not. */
const char *machine_add_reset_hook(struct machine *m, void (*fn)(void *opaque), void *opaque);
/* Appends every byte the guest writes to `port` to the file at `path`.
 * Returns false with one line in err when the file cannot be opened. */
bool machine_add_port_log(struct machine *m, uint16_t port, const char *path, char *err, size_t err_size);

/* Memory. Each returns NULL on success, else why it failed. ROM contents are
 * copied. */
const char *machine_map_rom(struct machine *m, uint32_t base, const void *data, uint32_t size);
const char *machine_map_mmio(struct machine *m, uint32_t base, uint32_t size,
                             mmio_read_fn read, mmio_write_fn write, void *opaque);
/* Copies into guest RAM (bytes outside RAM are dropped); false if any were. */
bool machine_phys_write(struct machine *m, uint32_t paddr, const void *src, size_t len);

/* Shadow RAM of the firmware area (the i440FX PAM registers): whether reads
 * of [base, base+size) come from RAM or from what lies beneath (the
 * firmware ROM), and whether writes reach RAM or are dropped. With neither,
 * the segment is what lies beneath: the firmware ROM, or plain RAM where no
 * ROM is mapped (a firmware-less direct boot). The window must lie inside
 * RAM and below 1 MiB. NULL or why not. */
const char *machine_shadow_segment(struct machine *m, uint32_t base, uint32_t size,
                                   bool read_ram, bool write_ram);

/* QEMU's firmware debug console as SeaBIOS probes it: port 0x402 reads back
 * 0xE9 (so the firmware keeps writing its log there) and drops writes; a
 * port log (--port-log 0x402=FILE) shows them. NULL or why not. */
const char *machine_attach_firmware_debug_port(struct machine *m);

/* Ports: see portio.h. */
const char *machine_register_ports(struct machine *m, uint16_t first, uint32_t count, uint8_t sizes,
                                   port_read_fn read, port_write_fn write, void *opaque);

/* IRQ lines (0..IRQ_LINES-1) and the controller that turns them into INTR. */
void machine_irq_raise(struct machine *m, int line);
void machine_irq_lower(struct machine *m, int line);
void machine_irq_pulse(struct machine *m, int line);
/* Installs a controller (the PIC); it drives INTR with machine_set_intr. */
void machine_set_irq_controller(struct machine *m, const struct irq_controller *ctl, void *opaque);
void machine_set_intr(struct machine *m, bool level);

/* Time and timers (timer_init from scheduler.h prepares a timer). */
uint64_t machine_now_ns(const struct machine *m);
void machine_timer_arm(struct machine *m, struct timer *t, uint64_t deadline_ns);
void machine_timer_cancel(struct machine *m, struct timer *t);

void machine_console_write(struct machine *m, const uint8_t *bytes, size_t len);
/* Gate A20 (i8042 output port, port 0x92). */
void machine_set_a20(struct machine *m, bool enabled);
/* A reset requested by the guest (i8042 pulse, port 0x92): done at the end of
 * the current CPU slice, or an exit with no_reboot. */
void machine_request_reset(struct machine *m);
/* Copies guest RAM out (bytes outside RAM read as zero); false if any were. */
bool machine_phys_read(struct machine *m, uint32_t paddr, void *dst, size_t len);
/* Runs fn(arg) on the guest thread soon, between CPU slices; ends an idle
 * wait. Safe from any thread. Work still queued when the machine is freed
 * is dropped without running. False when out of memory. */
bool machine_post(struct machine *m, void (*fn)(void *arg), void *arg);

/* Stops the run loop soon with this reason (from the guest thread). */
void machine_request_stop(struct machine *m, enum plan86_stop_reason reason, const char *msg);

#endif
