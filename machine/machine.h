/* machine.h — the board: what devices and the public API see of a machine.
 *
 * Promises: struct machine owns everything of one emulated PC (RAM, memory
 * map, port bus, IRQ lines and controller, virtual clock and timers, CPU,
 * console hook); there is no global state. Devices use only the functions
 * below: map memory, claim ports, drive IRQ lines, read the clock and arm
 * timers, write console bytes. Anything other than the CPU that writes guest
 * RAM goes through machine_phys_write so the CPU drops stale decoded code.
 */
#ifndef PLAN86_MACHINE_H
#define PLAN86_MACHINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "irq.h"
#include "memmap.h"
#include "plan86.h"
#include "portio.h"
#include "sched.h"
#include "vclock.h"

struct cpu;

#define MACHINE_MAX_ROMS 8

struct machine {
    uint8_t *ram;
    uint32_t ram_size;
    uint8_t *roms[MACHINE_MAX_ROMS];
    int nroms;
    struct memmap mem;
    struct portbus io;

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

    plan86_console_fn console_fn;
    void *console_opaque;

    atomic_bool stop_requested;    /* plan86_stop, any thread */
    bool stopping;
    enum plan86_stop_reason stop_reason;
    char stop_msg[160];
};

/* Board life cycle: RAM of ram_size bytes at 0, the CPU, the board devices. */
struct machine *machine_new(uint32_t ram_size, bool deterministic, uint32_t ns_per_insn,
                            char *err, size_t err_size);
void machine_free(struct machine *m);
enum plan86_stop_reason machine_run(struct machine *m);

/* Memory. Each returns NULL on success, else why it failed. ROM contents are
 * copied. */
const char *machine_map_rom(struct machine *m, uint32_t base, const void *data, uint32_t size);
const char *machine_map_mmio(struct machine *m, uint32_t base, uint32_t size,
                             mmio_read_fn read, mmio_write_fn write, void *opaque);
/* Copies into guest RAM (bytes outside RAM are dropped); false if any were. */
bool machine_phys_write(struct machine *m, uint32_t paddr, const void *src, size_t len);

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

/* Time and timers (timer_init from sched.h prepares a timer). */
uint64_t machine_now_ns(const struct machine *m);
void machine_timer_arm(struct machine *m, struct timer *t, uint64_t deadline_ns);
void machine_timer_cancel(struct machine *m, struct timer *t);

void machine_console_write(struct machine *m, const uint8_t *bytes, size_t len);
/* Stops the run loop soon with this reason (from the guest thread). */
void machine_request_stop(struct machine *m, enum plan86_stop_reason reason, const char *msg);

#endif
