/* machine.c — the board: assembly, bus glue for the CPU, and the run loop.
 *
 * Promises: machine_new builds RAM, the memory map, the port bus, the IRQ
 * lines with the stand-in controller, the clock, the CPU and every board
 * device. machine_run alternates CPU slices that end at the next timer
 * deadline with firing due timers, idles through HLT (sleeping in realtime
 * mode, skipping time in deterministic mode) and stops on a stop request,
 * HLT with interrupts off, a triple fault with no_reboot (without it, the
 * machine resets and runs on), the timeout, or (deterministic) a halt that
 * no timer can ever end. Port logs are flushed whenever the run loop returns.
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/cpu.h"
#include "board.h"
#include "devices.h"

/* Longest CPU slice, in instructions: bounds how late a stop request is seen. */
#define SLICE_MAX_INSNS (1u << 20)
/* Longest realtime sleep of an idle CPU before stop requests are checked again. */
#define IDLE_SLEEP_MAX_NS 10000000u
/* Vectors of the stand-in interrupt controller (those of Linux's legacy PIC setup). */
#define BASIC_INTC_VECTOR_BASE 0x20

static const struct {
    const char *name;
    const char *(*attach)(struct machine *m);
} board_devices[] = {
    { "debug console", debugcon_attach },
};

/* ---- the CPU's view of the board ---- */

static uint8_t *bus_page_ptr(void *ctx, uint32_t paddr, bool write)
{
    struct machine *m = ctx;
    return memmap_page_ptr(&m->mem, paddr, write);
}

static uint32_t bus_mem_read(void *ctx, uint32_t paddr, int size)
{
    struct machine *m = ctx;
    return memmap_read(&m->mem, paddr, size);
}

static void bus_mem_write(void *ctx, uint32_t paddr, uint32_t val, int size)
{
    struct machine *m = ctx;
    memmap_write(&m->mem, paddr, val, size);
}

static uint32_t bus_io_read(void *ctx, uint16_t port, int size)
{
    struct machine *m = ctx;
    return portbus_read(&m->io, port, size);
}

static void bus_io_write(void *ctx, uint16_t port, uint32_t val, int size)
{
    struct machine *m = ctx;
    portbus_write(&m->io, port, val, size);
}

static uint8_t bus_irq_ack(void *ctx)
{
    struct machine *m = ctx;
    return irq_acknowledge(&m->irq);
}

static uint64_t bus_now_ns(void *ctx)
{
    return machine_now_ns(ctx);
}

static void request_reset(struct machine *m, enum plan86_stop_reason reason, const char *why_no_reboot)
{
    if (m->no_reboot) {
        machine_request_stop(m, reason, why_no_reboot);
        return;
    }
    m->reset_pending = true;
    cpu_request_exit(m->cpu);
}

/* Called inside the CPU slice: the reset itself waits until the slice ends. */
static void bus_shutdown(void *ctx)
{
    request_reset(ctx, PLAN86_STOP_SHUTDOWN, "triple fault: the CPU shut down (no reboot: the machine was not reset)");
}

void machine_request_reset(struct machine *m)
{
    request_reset(m, PLAN86_STOP_RESET, "the guest reset the machine (no reboot: stopped instead)");
}

void machine_set_a20(struct machine *m, bool enabled) { cpu_set_a20(m->cpu, enabled); }

static void basic_intc_set_intr(void *opaque, bool level)
{
    machine_set_intr(opaque, level);
}

/* ---- assembly ---- */

static void set_error(char *err, size_t err_size, const char *what, const char *why)
{
    if (err_size)
        snprintf(err, err_size, "%s: %s", what, why);
}

static bool attach_devices(struct machine *m, char *err, size_t err_size)
{
    for (size_t k = 0; k < sizeof board_devices / sizeof board_devices[0]; k++) {
        const char *why = board_devices[k].attach(m);
        if (why) {
            set_error(err, err_size, board_devices[k].name, why);
            return false;
        }
    }
    return true;
}

static bool map_ram(struct machine *m, uint32_t ram_size, char *err, size_t err_size)
{
    m->ram = calloc(1, ram_size);
    if (!m->ram) {
        set_error(err, err_size, "guest RAM", "cannot allocate that much host memory");
        return false;
    }
    m->ram_size = ram_size;
    struct mem_region r = { .base = 0, .size = ram_size, .kind = MEM_RAM, .priority = 0, .host = m->ram };
    const char *why = memmap_add(&m->mem, &r);
    if (why)
        set_error(err, err_size, "guest RAM", why);
    return !why;
}

static bool create_cpu(struct machine *m, char *err, size_t err_size)
{
    struct cpu_bus bus = {
        .ctx = m,
        .page_ptr = bus_page_ptr,
        .mem_read = bus_mem_read,
        .mem_write = bus_mem_write,
        .io_read = bus_io_read,
        .io_write = bus_io_write,
        .irq_ack = bus_irq_ack,
        .now_ns = bus_now_ns,
        .shutdown = bus_shutdown,
    };
    m->cpu = cpu_new(&bus);
    if (!m->cpu)
        set_error(err, err_size, "CPU", "cannot allocate it");
    return m->cpu != NULL;
}

struct machine *machine_new_bare(uint32_t ram_size, bool deterministic, uint32_t ns_per_insn,
                                 char *err, size_t err_size)
{
    struct machine *m = calloc(1, sizeof *m);
    if (!m) {
        set_error(err, err_size, "machine", "out of memory");
        return NULL;
    }
    memmap_init(&m->mem);
    portbus_init(&m->io);
    sched_init(&m->sched);
    atomic_init(&m->stop_requested, false);
    if (!host_events_init(&m->events)) {   /* it leaves wake_fd -1: machine_free skips it */
        set_error(err, err_size, "machine", "cannot make an eventfd");
        machine_free(m);
        return NULL;
    }
    if (!map_ram(m, ram_size, err, err_size) || !create_cpu(m, err, err_size)) {
        machine_free(m);
        return NULL;
    }
    vclock_init(&m->clock, deterministic, ns_per_insn, cpu_icount(m->cpu));
    irq_basic_init(&m->basic_intc, BASIC_INTC_VECTOR_BASE, basic_intc_set_intr, m);
    irq_lines_init(&m->irq, &irq_basic_controller, &m->basic_intc);
    if (!attach_devices(m, err, err_size)) {
        machine_free(m);
        return NULL;
    }
    cpu_reset(m->cpu);
    return m;
}

struct machine *machine_new(uint32_t ram_size, bool deterministic, uint32_t ns_per_insn,
                            char *err, size_t err_size)
{
    struct machine *m = machine_new_bare(ram_size, deterministic, ns_per_insn, err, err_size);
    if (!m)
        return NULL;
    m->board = calloc(1, sizeof *m->board);
    if (!m->board) {
        set_error(err, err_size, "board", "out of memory");
        machine_free(m);
        return NULL;
    }
    if (board_attach(m, m->board, err, err_size)) {
        machine_free(m);
        return NULL;
    }
    cpu_reset(m->cpu);
    return m;
}

void machine_free(struct machine *m)
{
    if (!m)
        return;
    sched_free(&m->sched);   /* first: it touches armed timers, which live in the devices */
    if (m->board) {
        board_free(m->board);
        free(m->board);
    }
    if (m->cpu)
        cpu_free(m->cpu);
    host_events_free(&m->events);   /* after the board: its threads may post until freed */
    port_logs_close(&m->port_logs);
    for (int k = 0; k < m->nroms; k++)
        free(m->roms[k]);
    free(m->ram);
    free(m);
}

/* ---- memory, ports, IRQs, console ---- */

static const char *add_region(struct machine *m, const struct mem_region *r)
{
    const char *why = memmap_add(&m->mem, r);
    if (!why && m->cpu)
        cpu_memory_map_changed(m->cpu);
    return why;
}

const char *machine_map_rom(struct machine *m, uint32_t base, const void *data, uint32_t size)
{
    if (m->nroms == MACHINE_MAX_ROMS)
        return "too many ROM images";
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return "out of memory for the ROM image";
    memcpy(copy, data, size);
    struct mem_region r = { .base = base, .size = size, .kind = MEM_ROM, .priority = 1, .host = copy };
    const char *why = add_region(m, &r);
    if (why) {
        free(copy);
        return why;
    }
    m->roms[m->nroms++] = copy;
    return NULL;
}

const char *machine_map_mmio(struct machine *m, uint32_t base, uint32_t size,
                             mmio_read_fn read, mmio_write_fn write, void *opaque)
{
    struct mem_region r = {
        .base = base, .size = size, .kind = MEM_MMIO, .priority = 2,
        .read = read, .write = write, .opaque = opaque,
    };
    return add_region(m, &r);
}

bool machine_phys_write(struct machine *m, uint32_t paddr, const void *src, size_t len)
{
    if (paddr >= m->ram_size)
        return len == 0;
    size_t fits = m->ram_size - paddr < len ? m->ram_size - paddr : len;
    memcpy(m->ram + paddr, src, fits);
    cpu_phys_written(m->cpu, paddr, (uint32_t)fits);
    return fits == len;
}

bool machine_phys_read(struct machine *m, uint32_t paddr, void *dst, size_t len)
{
    size_t fits = paddr >= m->ram_size ? 0 : (m->ram_size - paddr < len ? m->ram_size - paddr : len);
    if (fits)
        memcpy(dst, m->ram + paddr, fits);
    memset((uint8_t *)dst + fits, 0, len - fits);
    return fits == len;
}

const char *machine_register_ports(struct machine *m, uint16_t first, uint32_t count, uint8_t sizes,
                                   port_read_fn read, port_write_fn write, void *opaque)
{
    return portbus_register(&m->io, first, count, sizes, read, write, opaque);
}

bool machine_add_port_log(struct machine *m, uint16_t port, const char *path, char *err, size_t err_size)
{
    return port_logs_add(&m->port_logs, &m->io, port, path, err, err_size);
}

void machine_irq_raise(struct machine *m, int line) { irq_raise(&m->irq, line); }
void machine_irq_lower(struct machine *m, int line) { irq_lower(&m->irq, line); }
void machine_irq_pulse(struct machine *m, int line) { irq_pulse(&m->irq, line); }

void machine_set_irq_controller(struct machine *m, const struct irq_controller *ctl, void *opaque)
{
    irq_lines_init(&m->irq, ctl, opaque);
    machine_set_intr(m, false);
}

void machine_set_intr(struct machine *m, bool level)
{
    m->intr_level = level;
    cpu_set_intr(m->cpu, level);
}

void machine_console_write(struct machine *m, const uint8_t *bytes, size_t len)
{
    if (m->console_fn)
        m->console_fn(m->console_opaque, bytes, len);
}

bool machine_post(struct machine *m, void (*fn)(void *arg), void *arg)
{
    return host_events_post(&m->events, fn, arg);
}

void machine_request_stop(struct machine *m, enum plan86_stop_reason reason, const char *msg)
{
    if (m->stopping)
        return;
    m->stopping = true;
    m->stop_reason = reason;
    snprintf(m->stop_msg, sizeof m->stop_msg, "%s", msg);
    cpu_request_exit(m->cpu);
}

/* ---- firmware shadow RAM (PAM) ---- */

/* Above ROM (1) and MMIO (2): a segment's choice overrides both. */
#define SHADOW_PRIORITY 3
#define SHADOW_WINDOW_END 0x100000u

/* Where reads go when they do not reach RAM: the host bytes of what the
 * segment covers without its shadow region (the ROM, or RAM when no ROM is
 * mapped there), or NULL when that is not plain memory. */
static uint8_t *shadow_read_side(const struct machine *m, uint32_t base, uint32_t size)
{
    const struct mem_span *s = memmap_find(&m->mem, base);
    if (!s || s->end < (uint64_t)base + size || s->region->kind == MEM_MMIO)
        return NULL;
    return s->region->host + (base - s->region->base);
}

const char *machine_shadow_segment(struct machine *m, uint32_t base, uint32_t size,
                                   bool read_ram, bool write_ram)
{
    if (size == 0 || base > SHADOW_WINDOW_END || size > SHADOW_WINDOW_END - base || base + size > m->ram_size)
        return "shadow segment outside RAM below 1 MiB";
    memmap_remove(&m->mem, base, size, SHADOW_PRIORITY);
    struct mem_region r = { .base = base, .size = size, .priority = SHADOW_PRIORITY, .host = m->ram + base };
    const char *why = NULL;
    if (read_ram) {
        r.kind = write_ram ? MEM_RAM : MEM_ROM;
        why = memmap_add(&m->mem, &r);
    } else if (write_ram) {
        r.kind = MEM_SPLIT;
        r.write_host = m->ram + base;
        r.host = shadow_read_side(m, base, size);
        why = r.host ? memmap_add(&m->mem, &r) : "shadow segment reads from MMIO";
    }
    cpu_memory_map_changed(m->cpu);
    return why;
}

/* ---- the firmware's debug console ---- */

#define FIRMWARE_DEBUG_PORT 0x402
#define DEBUGCON_READBACK 0xE9

static uint32_t firmware_debug_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return DEBUGCON_READBACK;
}

static void firmware_debug_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)opaque;
    (void)port;
    (void)val;
    (void)size;
}

const char *machine_attach_firmware_debug_port(struct machine *m)
{
    return machine_register_ports(m, FIRMWARE_DEBUG_PORT, 1, PORT_SIZE_8, firmware_debug_read,
                                  firmware_debug_write, m);
}

/* ---- reset ---- */

const char *machine_add_reset_hook(struct machine *m, void (*fn)(void *opaque), void *opaque)
{
    if (!fn)
        return "reset hook needs a function";
    if (m->nreset_hooks == MACHINE_MAX_RESET_HOOKS)
        return "too many reset hooks";
    m->reset_hooks[m->nreset_hooks++] = (struct reset_hook){ fn, opaque };
    return NULL;
}

void machine_reset(struct machine *m)
{
    if (m->power_on_mem_saved)
        m->mem = m->power_on_mem;
    for (int k = 0; k < m->nreset_hooks; k++)
        m->reset_hooks[k].fn(m->reset_hooks[k].opaque);
    if (m->irq.ctl == &irq_basic_controller)
        irq_basic_reset(&m->basic_intc);
    cpu_reset(m->cpu);
    cpu_memory_map_changed(m->cpu);
    m->reset_pending = false;
    m->resets++;
    if (m->after_reset)
        m->after_reset(m->after_reset_opaque);
}

/* ---- time ---- */

uint64_t machine_now_ns(const struct machine *m)
{
    return vclock_now(&m->clock, cpu_icount(m->cpu));
}

void machine_timer_arm(struct machine *m, struct timer *t, uint64_t deadline_ns)
{
    sched_arm(&m->sched, t, deadline_ns);
    if (m->in_cpu_run && deadline_ns < m->run_limit_ns)
        cpu_request_exit(m->cpu);
}

void machine_timer_cancel(struct machine *m, struct timer *t)
{
    sched_cancel(&m->sched, t);
}

/* ---- the run loop ---- */

/* The next virtual time at which the loop must look up: a timer or the timeout. */
static uint64_t next_wakeup_ns(const struct machine *m)
{
    uint64_t next = sched_next_deadline(&m->sched);
    if (m->timeout_ns && m->timeout_ns < next)
        next = m->timeout_ns;
    return next;
}

static void run_cpu_slice(struct machine *m, uint64_t limit_ns)
{
    uint64_t icount = cpu_icount(m->cpu);
    uint64_t budget = vclock_insns_until(&m->clock, limit_ns, icount);
    if (budget > SLICE_MAX_INSNS)
        budget = SLICE_MAX_INSNS;
    m->in_cpu_run = true;
    m->run_limit_ns = limit_ns;
    cpu_run(m->cpu, budget);
    m->in_cpu_run = false;
}

/* The CPU is halted with interrupts enabled: let time pass until `limit_ns`. */
static void idle_until(struct machine *m, uint64_t limit_ns)
{
    if (m->clock.deterministic) {
        if (limit_ns == SCHED_NEVER)
            machine_request_stop(m, PLAN86_STOP_IDLE,
                                 "guest halted and no timer is armed to wake it");
        else
            vclock_skip_to(&m->clock, limit_ns, cpu_icount(m->cpu));
        return;
    }
    uint64_t now = machine_now_ns(m);
    uint64_t wait = limit_ns > now ? limit_ns - now : 0;
    host_events_wait(&m->events, wait < IDLE_SLEEP_MAX_NS ? wait : IDLE_SLEEP_MAX_NS);
}

/* Names where it halted: CS:EIP after the HLT. */
static void stop_halted_for_good(struct machine *m)
{
    char msg[sizeof m->stop_msg];
    snprintf(msg, sizeof msg, "the CPU halted for good (HLT with interrupts disabled) at %04X:%08X",
             cpu_get_seg(m->cpu, S_CS)->sel, cpu_get_eip(m->cpu));
    machine_request_stop(m, PLAN86_STOP_HALTED, msg);
}

static void run_step(struct machine *m)
{
    uint64_t now = machine_now_ns(m);
    if (m->timeout_ns && now >= m->timeout_ns) {
        machine_request_stop(m, PLAN86_STOP_TIMEOUT, "timeout reached");
        return;
    }
    sched_run_due(&m->sched, now);
    host_events_drain(&m->events);
    if (m->poll_input)
        m->poll_input(m->poll_input_opaque);
    if (m->stopping)
        return;
    uint64_t limit = next_wakeup_ns(m);
    run_cpu_slice(m, limit);
    if (m->reset_pending)
        machine_reset(m);
    else if (cpu_halted_forever(m->cpu))
        stop_halted_for_good(m);
    else if (cpu_is_halted(m->cpu) && !m->intr_level && !m->stopping)
        idle_until(m, next_wakeup_ns(m));
}

enum plan86_stop_reason machine_run(struct machine *m)
{
    uint64_t wall_start = host_monotonic_ns();
    if (!m->power_on_mem_saved) {
        m->power_on_mem = m->mem;
        m->power_on_mem_saved = true;
    }
    m->stopping = false;
    vclock_resume(&m->clock);
    while (!m->stopping) {
        if (atomic_exchange(&m->stop_requested, false))
            machine_request_stop(m, PLAN86_STOP_REQUESTED, "stopped on request");
        else
            run_step(m);
    }
    vclock_pause(&m->clock);
    port_logs_flush(&m->port_logs);
    m->wall_ns += host_monotonic_ns() - wall_start;
    return m->stop_reason;
}
