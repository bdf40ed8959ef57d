/* descriptor.h — segment descriptors, gates, the TSS and checked stack frames,
 * shared by segment.c, task.c, interrupt.c, ops_control.c and ops_system.c.
 *
 * Promises: one decoding of the 8-byte descriptor format (base, limit, access
 * attributes, gate selector/offset), the descriptor-table lookup with selector
 * checks, the protected-mode rules for loading CS and SS that every far
 * transfer shares, stack frames that are built on the current or a new
 * stack and committed only after every push succeeded (restartable faults),
 * and hardware task switching.
 */
#ifndef PLAN86_CPU_DESCRIPTOR_H
#define PLAN86_CPU_DESCRIPTOR_H

#include "internal.h"

/* seg_cache.attr bits (access byte in 0..7, flags nibble in 12..15) */
enum {
    ATTR_TYPE = 0x0F,
    ATTR_ACCESSED = 0x01,
    ATTR_RW = 0x02,        /* code: readable; data: writable */
    ATTR_DC = 0x04,        /* code: conforming; data: expand-down */
    ATTR_CODE = 0x08,
    ATTR_S = 0x10,         /* code/data (not system) */
    ATTR_P = 0x80,
    ATTR_DB = 0x4000,
    ATTR_G = 0x8000,
    ATTR_V86_DATA = 0xF3,  /* present, DPL 3, read/write data, accessed */
};

/* System descriptor types (ATTR_S clear) */
enum {
    SYS_TSS16 = 0x1, SYS_LDT = 0x2, SYS_TSS16_BUSY = 0x3, SYS_CALL_GATE16 = 0x4,
    SYS_TASK_GATE = 0x5, SYS_INT_GATE16 = 0x6, SYS_TRAP_GATE16 = 0x7,
    SYS_TSS32 = 0x9, SYS_TSS32_BUSY = 0xB, SYS_CALL_GATE32 = 0xC,
    SYS_INT_GATE32 = 0xE, SYS_TRAP_GATE32 = 0xF,
};

static inline int attr_dpl(uint16_t attr) { return (attr >> 5) & 3; }
static inline bool attr_present(uint16_t attr) { return attr & ATTR_P; }
static inline bool attr_is_code(uint16_t attr) { return (attr & (ATTR_S | ATTR_CODE)) == (ATTR_S | ATTR_CODE); }
static inline bool attr_is_data(uint16_t attr) { return (attr & (ATTR_S | ATTR_CODE)) == ATTR_S; }
static inline bool attr_is_conforming(uint16_t attr) { return attr_is_code(attr) && (attr & ATTR_DC); }
static inline bool attr_is_expand_down(uint16_t attr) { return attr_is_data(attr) && (attr & ATTR_DC); }
static inline bool attr_readable(uint16_t attr) { return attr_is_data(attr) || (attr_is_code(attr) && (attr & ATTR_RW)); }
static inline bool attr_writable(uint16_t attr) { return attr_is_data(attr) && (attr & ATTR_RW); }
/* The system type, or -1 for a code/data descriptor. */
static inline int attr_sys_type(uint16_t attr) { return (attr & ATTR_S) ? -1 : (attr & ATTR_TYPE); }

static inline int sel_rpl(uint16_t sel) { return sel & 3; }
static inline bool sel_is_null(uint16_t sel) { return (sel & 0xFFFC) == 0; }
/* Error code naming a selector: index and TI, plus EXT for external events. */
static inline uint32_t sel_err(uint16_t sel, uint32_t ext) { return (sel & 0xFFFCu) | ext; }

/* A descriptor as read from its table. */
struct desc {
    uint32_t lo, hi;
    uint32_t addr;   /* linear address of the descriptor (for the accessed/busy bits) */
};

static inline uint16_t desc_attr(const struct desc *d) { return (uint16_t)((d->hi >> 8) & 0xF0FF); }
static inline uint32_t desc_base(const struct desc *d)
{
    return (d->lo >> 16) | ((d->hi & 0xFF) << 16) | (d->hi & 0xFF000000u);
}
static inline uint32_t desc_limit(const struct desc *d)
{
    uint32_t limit = (d->lo & 0xFFFF) | (d->hi & 0xF0000);
    return (d->hi & (1u << 23)) ? (limit << 12) | 0xFFF : limit;
}
static inline uint16_t gate_selector(const struct desc *d) { return (uint16_t)(d->lo >> 16); }
static inline uint32_t gate_offset(const struct desc *d) { return (d->lo & 0xFFFF) | (d->hi & 0xFFFF0000u); }
static inline int gate_param_count(const struct desc *d) { return d->hi & 0x1F; }

/* Whether [off, off+size) lies inside the segment's limits (expand-down aware). */
static inline bool seg_cache_fits(const struct seg_cache *sc, uint32_t off, int size)
{
    uint64_t last = (uint64_t)off + (uint64_t)(size - 1);
    if (attr_is_expand_down(sc->attr)) {
        uint64_t upper = (sc->attr & ATTR_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        return off > sc->limit && last <= upper;
    }
    return last <= sc->limit;
}

/* ---- segment.c ---- */
/* Reads the descriptor `sel` names from the GDT or LDT. false when the
 * selector is beyond the table limit or names an LDT that is not loaded. */
bool desc_read(struct cpu *c, uint16_t sel, struct desc *d);
/* Sets the accessed bit of a code/data descriptor in its table. */
void desc_set_accessed(struct cpu *c, struct desc *d);
/* Fills segment cache s from a descriptor (selector as given). */
void seg_set_from_desc(struct cpu *c, int s, uint16_t sel, const struct desc *d);
/* Marks a data segment register unusable (null selector in protected mode). */
void seg_set_null(struct cpu *c, int s, uint16_t sel);
/* Real-mode/V86 load: base = sel << 4 (V86 also forces a 64 KiB DPL-3 data segment). */
void seg_load_real(struct cpu *c, int s, uint16_t sel);
/* Reads a code descriptor for a far transfer: null -> #GP(ext); beyond the
 * table or not code -> #GP(sel|ext). Privilege and presence are the caller's. */
void desc_fetch_code(struct cpu *c, uint16_t sel, uint32_t ext, struct desc *d);
/* Raises vec(err) unless the descriptor is present. */
void desc_require_present(struct cpu *c, const struct desc *d, int vec, uint32_t err);
/* Reads and checks a stack segment for a load at privilege `cpl`: null or
 * wrong RPL/DPL/type -> vec (GP for returns, TS for TSS stacks); not present
 * -> #SS(sel|ext). */
void desc_fetch_stack(struct cpu *c, uint16_t sel, int cpl, int vec, uint32_t ext, struct desc *d);
/* Commits a checked code descriptor into CS at privilege cpl (RPL = cpl),
 * sets its accessed bit and updates the derived mode. */
void seg_commit_cs(struct cpu *c, uint16_t sel, struct desc *d, int cpl);
/* Commits a checked stack descriptor into SS and sets its accessed bit. */
void seg_commit_ss(struct cpu *c, uint16_t sel, struct desc *d);
/* After a return to an outer privilege level: data segment registers the new
 * CPL may not use become null. */
void seg_drop_inaccessible(struct cpu *c);

/* Loads data segment register s (DS, ES, FS, GS) from a protected-mode
 * selector: null makes it unusable; beyond the table, not readable or not
 * accessible at CPL/RPL -> vec(sel|ext); not present -> #NP(sel|ext).
 * vec is #GP for instructions, #TS for a task switch. */
void seg_load_data_checked(struct cpu *c, int s, uint16_t sel, int vec, uint32_t ext);

/* Notes a guest action the core does not model (logged once per kind). */
enum unsupported_note { NOTE_TSS_DEBUG_TRAP, NOTE_COUNT };
void cpu_note_unsupported(struct cpu *c, enum unsupported_note what);

/* A stack frame built below esp, either on the current SS (new_ss == NULL)
 * or on a new stack being switched to. Pushes check the limit (fault: vec,
 * err) and write; nothing in the CPU changes until the caller commits esp. */
struct stack_frame {
    const struct seg_cache *new_ss;
    uint32_t esp;
    bool big;        /* SS.B: ESP moves, else only SP */
    int vec;
    uint32_t err;
};
void frame_on_current(struct cpu *c, struct stack_frame *f);
void frame_on_new(struct stack_frame *f, const struct seg_cache *ss, uint32_t esp, uint32_t err);
void frame_push(struct cpu *c, struct stack_frame *f, uint32_t v, int size);

/* The inner stack of privilege `cpl` taken from the TSS (SS:ESP), checked
 * (#TS(TR|ext) for a short TSS, #TS/#SS for a bad SS), and a frame on it. */
struct inner_stack {
    uint16_t sel;
    struct desc desc;
    struct seg_cache cache;
};
void inner_stack_open(struct cpu *c, int cpl, uint32_t ext, struct inner_stack *s, struct stack_frame *f);
/* Switches SS:ESP to the inner stack after the frame was pushed. */
void inner_stack_commit(struct cpu *c, struct inner_stack *s, const struct stack_frame *f);

/* ---- task.c: hardware task switching ---- */
/* How a task switch nests: CALL (also INT n, interrupts and exceptions through
 * a task gate) links the new task back to the old one and sets NT; JMP and
 * IRET free the old task; IRET returns to a busy task. */
enum task_reason { TASK_JMP, TASK_CALL, TASK_IRET };
/* The TSS a task gate names, checked: local, beyond the GDT or not an
 * available TSS -> #GP(tss|ext); not present -> #NP(tss|ext). */
void task_gate_tss(struct cpu *c, const struct desc *gate, uint32_t ext, uint16_t *tss_sel, struct desc *tss);
/* Switches to the task of a checked TSS descriptor: #TS(tss|ext) for a short
 * TSS, then saves the current task, updates busy bits, back link and NT, and
 * loads the new task (CR3, LDTR, registers, segments; V86 when its EFLAGS.VM
 * is set). Faults while loading the new task's segments are raised in the new
 * task's context. `err` (or EXC_NOERR) is pushed on the new task's stack. */
void task_switch(struct cpu *c, uint16_t sel, struct desc *tss, enum task_reason why,
                 uint32_t err, uint32_t ext);
/* JMP or CALL far to a TSS or task gate descriptor `d` named by `sel`. */
void task_far_transfer(struct cpu *c, uint16_t sel, struct desc *d, bool call);
/* IRET with NT set: back to the task in the current TSS's back link. */
void task_return(struct cpu *c);

#endif
