/* difftest.c — differential test of the plan86 CPU against the host CPU.
 *
 * Promises: generates --count random 32-bit user-mode sequences from --seed
 * (gen.h), runs each natively in the 32-bit helper process (batched over a
 * pipe) and in plan86 (emu.h), and compares registers, EIP, the fault (if
 * any), the arithmetic flags that are defined at that point, DF, the data
 * and stack buffers, and for sequences that use the x87 (--x87, the default;
 * --no-x87 turns them off, --x87-percent sets their share) the FPU state. Each mismatch is narrowed to the first instruction after
 * which the two sides differ (by re-running prefixes of the sequence); the
 * first --show mismatches print the seed, index, bytes and both states, and a
 * summary groups all of them by that instruction. Exit status: 0 when all
 * match, 1 on any mismatch, 2 when the test cannot run.
 *
 * Reproduce one case: difftest --seed S --index I  (with the same x87 options)
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "emu.h"
#include "gen.h"

#define BATCH 512
#define X87_DEFAULT_PERCENT 30
#define MAX_DIAGNOSED 5000

struct options {
    uint64_t seed;
    uint64_t count;
    int64_t index;          /* one case only, printed; -1: all */
    struct dt_gen_opts gen;
    int show;
    const char *helper;
};

struct helper {
    pid_t pid;
    int to, from;
};

/* ---------------------------------------------------------------- helper process */

static int helper_start(struct helper *h, const char *path)
{
    int down[2], up[2];
    if (pipe(down) || pipe(up)) return -1;
    h->pid = fork();
    if (h->pid < 0) return -1;
    if (h->pid == 0) {
        dup2(down[0], 0);
        dup2(up[1], 1);
        close(down[0]); close(down[1]); close(up[0]); close(up[1]);
        execl(path, path, (char *)NULL);
        fprintf(stderr, "difftest: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    h->to = down[1];
    h->from = up[0];
    return 0;
}

static int io_full(int fd, void *buf, size_t len, bool writing)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = writing ? write(fd, (char *)buf + done, len - done)
                            : read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static int helper_run(struct helper *h, const struct dt_case *cases, uint32_t n, struct dt_result *out)
{
    if (io_full(h->to, &n, sizeof n, true) ||
        io_full(h->to, (void *)cases, n * sizeof *cases, true) ||
        io_full(h->from, out, n * sizeof *out, false)) {
        fprintf(stderr, "difftest: the native helper stopped answering\n");
        return -1;
    }
    return 0;
}

static void helper_stop(struct helper *h)
{
    uint32_t zero = 0;
    io_full(h->to, &zero, sizeof zero, true);
    close(h->to);
    close(h->from);
    waitpid(h->pid, NULL, 0);
}

/* ---------------------------------------------------------------- comparison */

enum { D_FLAGS = 8, D_EIP, D_FAULT, D_DATA, D_STACK, D_FCW, D_FSW, D_FTW, D_ST0 };
static const char *const reg_names[DT_NREGS] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

/* What is compared where the native run stopped. */
struct masks {
    uint32_t flags;         /* the defined arithmetic flags, and DF */
    uint16_t fsw;           /* x87 status word without the undefined condition codes */
    bool fpu;               /* the case uses the x87 */
};

/* end_undef / end_fsw_undef: what is undefined at the end of the code run. */
static struct masks compared_masks(const struct dt_seq *s, const struct dt_result *nat,
                                   uint16_t end_undef, uint16_t end_fsw_undef)
{
    uint16_t undef = end_undef, fsw_undef = end_fsw_undef;
    if (nat->fault != DT_NO_FAULT) {
        const struct dt_part *p = dt_part_at(s, nat->regs.eip - DT_CODE_ADDR);
        undef = p ? p->undef_before : 0;
        fsw_undef = p ? p->fsw_undef_before : 0;
    }
    return (struct masks){ .flags = (F_ARITH & ~(uint32_t)undef) | F_DF,
                           .fsw = (uint16_t)~fsw_undef, .fpu = s->tc.fpu_used != 0 };
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The x87 state from the FNSAVE images: control word, status word (masked),
 * tag word and the eight registers in stack order, as 80-bit patterns.
 * FIP, FCS, FOP, FDP and FDS (bytes 12..27) are not compared: they hold code
 * and data addresses, selectors and opcodes that differ by design (the two
 * sides save from different code at different selectors, and hosts update FOP
 * differently); nor are the reserved upper halves of the first three dwords. */
static uint32_t compare_fpu(const uint8_t *a, const uint8_t *b, uint16_t fsw_mask)
{
    uint32_t d = 0;
    if (get16(a + DT_FPU_CW) != get16(b + DT_FPU_CW)) d |= 1u << D_FCW;
    if ((get16(a + DT_FPU_SW) ^ get16(b + DT_FPU_SW)) & fsw_mask) d |= 1u << D_FSW;
    if (get16(a + DT_FPU_TW) != get16(b + DT_FPU_TW)) d |= 1u << D_FTW;
    for (int i = 0; i < 8; i++)
        if (memcmp(a + DT_FPU_ST + 10 * i, b + DT_FPU_ST + 10 * i, 10)) d |= 1u << (D_ST0 + i);
    return d;
}

static uint32_t compare(const struct dt_result *a, const struct dt_result *b, const struct masks *m)
{
    uint32_t d = 0;
    for (int r = 0; r < DT_NREGS; r++)
        if (a->regs.r[r] != b->regs.r[r]) d |= 1u << r;
    if ((a->regs.eflags ^ b->regs.eflags) & m->flags) d |= 1u << D_FLAGS;
    if (a->regs.eip != b->regs.eip) d |= 1u << D_EIP;
    if (a->fault != b->fault) d |= 1u << D_FAULT;
    if (memcmp(a->data, b->data, DT_DATA_SIZE)) d |= 1u << D_DATA;
    if (memcmp(a->stack, b->stack, DT_STACK_SIZE)) d |= 1u << D_STACK;
    if (m->fpu) d |= compare_fpu(a->fpu, b->fpu, m->fsw);
    return d;
}

/* ---------------------------------------------------------------- printing */

static void print_flags(uint32_t f, uint32_t mask)
{
    static const struct { uint32_t bit; char name; } fl[] = {
        { F_OF, 'O' }, { F_DF, 'D' }, { F_SF, 'S' }, { F_ZF, 'Z' }, { F_AF, 'A' }, { F_PF, 'P' }, { F_CF, 'C' },
    };
    printf("%08" PRIx32 " [", f);
    for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
        putchar(!(mask & fl[k].bit) ? '-' : (f & fl[k].bit) ? fl[k].name : '.');
    putchar(']');
}

static void print_regs(const char *label, const struct dt_regs *r, int fault, uint32_t mask)
{
    printf("    %-8s", label);
    for (int k = 0; k < DT_NREGS; k++) printf(" %s=%08" PRIx32, reg_names[k], r->r[k]);
    printf("\n             eip=%08" PRIx32 " eflags=", r->eip);
    print_flags(r->eflags, mask);
    if (fault == DT_NO_FAULT) printf(" end\n");
    else if (fault == DT_RUNAWAY) printf(" RUNAWAY (no end within the budget)\n");
    else if (fault == DT_FPU_STUB_FAILED) printf(" FRSTOR/FNSAVE around the case failed in plan86\n");
    else printf(" fault vector %d\n", fault);
}

/* An FNSAVE image: words, then each register as sign+exponent:mantissa and,
 * where the host's long double is the x87 format, its value. */
static void print_fpu(const char *label, const uint8_t *img, uint16_t fsw_mask)
{
    printf("    %-8s fcw=%04x fsw=%04x (compared bits %04x) ftw=%04x\n", label, get16(img + DT_FPU_CW),
           get16(img + DT_FPU_SW), fsw_mask, get16(img + DT_FPU_TW));
    for (int i = 0; i < 8; i++) {
        const uint8_t *r = img + DT_FPU_ST + 10 * i;
        uint64_t mant = 0;
        for (int k = 7; k >= 0; k--) mant = mant << 8 | r[k];
        printf("%s st%d=%04x:%016" PRIx64, i % 4 ? "" : "             ", i, get16(r + 8), mant);
#if LDBL_MANT_DIG == 64
        long double v = 0;
        memcpy(&v, r, 10);
        printf(" (%.5Lg)", v);
#endif
        if (i % 4 == 3) printf("\n");
    }
}

static void print_code(const struct dt_seq *s)
{
    printf("    code (%" PRIu32 " bytes at %08x):\n", s->tc.code_len, DT_CODE_ADDR);
    for (int k = 0; k < s->nparts; k++) {
        const struct dt_part *p = &s->part[k];
        char hex[3 * 16 + 1] = "";
        for (int b = 0; b < p->len && b < 16; b++)
            snprintf(hex + 3 * b, 4, "%02x ", s->tc.code[p->off + b]);
        printf("      +%04x  %-45s %s", p->off, hex, p->name);
        if (p->size) printf(" (%d-bit)", p->size * 8);
        printf("\n");
    }
}

static void print_mem_diff(const char *name, uint32_t base, const uint8_t *nat, const uint8_t *emu, uint32_t len)
{
    int shown = 0;
    for (uint32_t k = 0; k < len; k++) {
        if (nat[k] == emu[k]) continue;
        if (shown++ == 12) { printf(" ..."); break; }
        printf(" %s[%08" PRIx32 "]=%02x/%02x", name, base + k, nat[k], emu[k]);
    }
}

static void print_mismatch(const struct options *o, uint64_t index, const struct dt_seq *s,
                           const struct dt_result *nat, const struct dt_result *emu, uint32_t diff,
                           const struct masks *m, const struct dt_part *culprit)
{
    printf("MISMATCH seed=%" PRIu64 " index=%" PRIu64, o->seed, index);
    if (culprit) printf(" first differing after +%04x %s", culprit->off, culprit->name);
    if (culprit && culprit->size) printf(" (%d-bit)", culprit->size * 8);
    printf("\n");
    print_code(s);
    print_regs("initial", &s->tc.init, DT_NO_FAULT, F_ARITH | F_DF);
    print_regs("native", &nat->regs, nat->fault, m->flags);
    print_regs("plan86", &emu->regs, emu->fault, m->flags);
    if (m->fpu) {
        print_fpu("initial", s->tc.fpu_init, 0xFFFF);
        print_fpu("native", nat->fpu, m->fsw);
        print_fpu("plan86", emu->fpu, m->fsw);
    }
    printf("    differs:");
    for (int r = 0; r < DT_NREGS; r++)
        if (diff & (1u << r)) printf(" %s", reg_names[r]);
    if (diff & (1u << D_FLAGS)) printf(" eflags");
    if (diff & (1u << D_EIP)) printf(" eip");
    if (diff & (1u << D_FAULT)) printf(" fault");
    if (diff & (1u << D_FCW)) printf(" fcw");
    if (diff & (1u << D_FSW)) printf(" fsw");
    if (diff & (1u << D_FTW)) printf(" ftw");
    for (int i = 0; i < 8; i++)
        if (diff & (1u << (D_ST0 + i))) printf(" st%d", i);
    if (diff & (1u << D_DATA)) print_mem_diff("data", DT_DATA_ADDR, nat->data, emu->data, DT_DATA_SIZE);
    if (diff & (1u << D_STACK)) print_mem_diff("stack", DT_STACK_ADDR, nat->stack, emu->stack, DT_STACK_SIZE);
    printf("  (memory shown native/plan86)\n    reproduce: difftest --seed %" PRIu64 " --index %" PRIu64
           " --x87-percent %d\n\n", o->seed, index, o->gen.x87_percent);
}

/* ---------------------------------------------------------------- diagnosis and summary */

/* Whether the first `len` code bytes of the sequence already mismatch, with
 * the given flags and condition codes undefined at their end; -1: no helper. */
static int prefix_differs(struct helper *h, struct dt_emu *e, const struct dt_seq *s, uint32_t len,
                          uint16_t undef, uint16_t fsw_undef)
{
    struct dt_case tc = s->tc;
    tc.code_len = len;
    struct dt_result nat, emu;
    if (helper_run(h, &tc, 1, &nat)) return -1;
    dt_emu_run(e, &tc, &emu);
    struct masks m = compared_masks(s, &nat, undef, fsw_undef);
    return compare(&nat, &emu, &m) != 0;
}

/* The first part after which a prefix of the sequence already mismatches; for
 * an x87 case, the empty prefix (FRSTOR then FNSAVE) comes first. */
static const struct dt_part *first_bad_part(struct helper *h, struct dt_emu *e, const struct dt_seq *s)
{
    static const struct dt_part round_trip = { .name = "(frstor+fnsave of the initial state)" };
    const struct dt_part *last = s->nparts ? &s->part[s->nparts - 1] : NULL;
    if (s->tc.fpu_used) {
        int d = prefix_differs(h, e, s, 0, 0, 0);
        if (d) return d > 0 ? &round_trip : last;
    }
    for (int k = 0; k < s->nparts; k++) {
        const struct dt_part *p = &s->part[k];
        if (!p->cut_ok) continue;
        int d = prefix_differs(h, e, s, p->off + p->len, p->undef_after, p->fsw_undef_after);
        if (d) return d > 0 ? p : last;
    }
    return last;
}

struct group {
    const char *name;
    int size;
    uint64_t count, first_index;
};

struct summary {
    struct group *g;
    size_t n, cap;
    uint64_t mismatches;
};

static void summary_add(struct summary *sum, const struct dt_part *p, uint64_t index)
{
    const char *name = p ? p->name : "(empty sequence)";
    int size = p ? p->size : 0;
    sum->mismatches++;
    for (size_t k = 0; k < sum->n; k++)
        if (!strcmp(sum->g[k].name, name) && sum->g[k].size == size) {
            sum->g[k].count++;
            return;
        }
    if (sum->n == sum->cap) {
        size_t cap = sum->cap ? 2 * sum->cap : 16;
        struct group *g = realloc(sum->g, cap * sizeof *g);
        if (!g) return;
        sum->g = g;
        sum->cap = cap;
    }
    sum->g[sum->n++] = (struct group){ name, size, 1, index };
}

static int by_count(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void summary_print(struct summary *sum)
{
    if (!sum->n) return;
    qsort(sum->g, sum->n, sizeof *sum->g, by_count);
    printf("mismatches by first differing instruction:\n");
    for (size_t k = 0; k < sum->n; k++) {
        printf("  %8" PRIu64 "  %-32s", sum->g[k].count, sum->g[k].name);
        if (sum->g[k].size) printf(" %2d-bit", sum->g[k].size * 8);
        else printf("       ");
        printf("  (first: index %" PRIu64 ")\n", sum->g[k].first_index);
    }
}

/* ---------------------------------------------------------------- main loop */

struct run {
    const struct options *o;
    struct helper h;
    struct dt_emu *e;
    struct summary sum;
    uint64_t faults, parts;
};

static void check_one(struct run *r, uint64_t index, const struct dt_seq *s,
                      const struct dt_result *nat, const struct dt_result *emu, bool verbose)
{
    struct masks m = compared_masks(s, nat, s->final_undef, s->final_fsw_undef);
    uint32_t diff = compare(nat, emu, &m);
    r->parts += (uint64_t)s->nparts;
    if (nat->fault != DT_NO_FAULT) r->faults++;
    if (!diff) {
        if (verbose) {
            printf("match seed=%" PRIu64 " index=%" PRIu64 "\n", r->o->seed, index);
            print_code(s);
            print_regs("initial", &s->tc.init, DT_NO_FAULT, F_ARITH | F_DF);
            print_regs("both", &nat->regs, nat->fault, m.flags);
            if (m.fpu) {
                print_fpu("initial", s->tc.fpu_init, 0xFFFF);
                print_fpu("both", nat->fpu, m.fsw);
            }
        }
        return;
    }
    const struct dt_part *culprit =
        r->sum.mismatches < MAX_DIAGNOSED ? first_bad_part(&r->h, r->e, s) : NULL;
    if (verbose || r->sum.mismatches < (uint64_t)r->o->show)
        print_mismatch(r->o, index, s, nat, emu, diff, &m, culprit);
    summary_add(&r->sum, culprit, index);
}

static int run_all(struct run *r)
{
    const struct options *o = r->o;
    struct dt_seq *seqs = malloc(BATCH * sizeof *seqs);
    struct dt_case *cases = malloc(BATCH * sizeof *cases);
    struct dt_result *nat = malloc(BATCH * sizeof *nat), *emu = malloc(BATCH * sizeof *emu);
    int rc = seqs && cases && nat && emu ? 0 : -1;
    uint64_t first = o->index >= 0 ? (uint64_t)o->index : 0;
    uint64_t end = o->index >= 0 ? first + 1 : o->count;
    for (uint64_t base = first; rc == 0 && base < end; base += BATCH) {
        uint32_t n = (uint32_t)(end - base < BATCH ? end - base : BATCH);
        for (uint32_t k = 0; k < n; k++) {
            dt_generate(o->seed, base + k, &o->gen, &seqs[k]);
            cases[k] = seqs[k].tc;
        }
        if (helper_run(&r->h, cases, n, nat)) { rc = -1; break; }
        for (uint32_t k = 0; k < n; k++) {
            dt_emu_run(r->e, &cases[k], &emu[k]);
            check_one(r, base + k, &seqs[k], &nat[k], &emu[k], o->index >= 0);
        }
    }
    free(seqs); free(cases); free(nat); free(emu);
    return rc;
}

static const char *default_helper(const char *argv0, char *buf, size_t len)
{
    const char *env = getenv("DIFFTEST_HELPER");
    if (env) return env;
    const char *slash = strrchr(argv0, '/');
    int dir = slash ? (int)(slash - argv0 + 1) : 0;
    snprintf(buf, len, "%.*sdifftest-native", dir, argv0);
    return buf;
}

static int parse_options(int argc, char **argv, struct options *o, char *helper_buf, size_t len)
{
    const char *env_seed = getenv("DIFFTEST_SEED");
    *o = (struct options){ .count = 100000, .index = -1, .show = 10,
                           .gen = { .max_insns = 8, .x87_percent = X87_DEFAULT_PERCENT } };
    o->seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time(NULL);
    o->helper = default_helper(argv[0], helper_buf, len);
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (!strcmp(a, "--x87")) { o->gen.x87_percent = X87_DEFAULT_PERCENT; continue; }
        if (!strcmp(a, "--no-x87")) { o->gen.x87_percent = 0; continue; }
        if (!v) goto bad;
        if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--count")) o->count = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--index")) o->index = (int64_t)strtoull(v, NULL, 0);
        else if (!strcmp(a, "--max-insns")) o->gen.max_insns = atoi(v);
        else if (!strcmp(a, "--x87-percent")) o->gen.x87_percent = atoi(v);
        else if (!strcmp(a, "--show")) o->show = atoi(v);
        else if (!strcmp(a, "--helper")) o->helper = v;
        else goto bad;
        k++;
    }
    return 0;
bad:
    fprintf(stderr, "usage: difftest [--seed S] [--count N] [--index I] [--max-insns M] "
                    "[--show K] [--helper PATH] [--x87 | --no-x87 | --x87-percent P]\n");
    return -1;
}

int main(int argc, char **argv)
{
    char helper_buf[4096];
    struct options o;
    if (parse_options(argc, argv, &o, helper_buf, sizeof helper_buf)) return 2;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct run r = { .o = &o };
    r.e = dt_emu_new();
    if (!r.e || helper_start(&r.h, o.helper)) {
        fprintf(stderr, "difftest: cannot set up (emulator or helper %s)\n", o.helper);
        return 2;
    }
    printf("difftest: seed %" PRIu64 ", %" PRIu64 " sequences of up to %d instructions, %d%% with x87\n",
           o.seed, o.index >= 0 ? 1 : o.count, o.gen.max_insns, o.gen.x87_percent);
    int rc = run_all(&r);
    helper_stop(&r.h);
    dt_emu_free(r.e);
    uint64_t total = o.index >= 0 ? 1 : o.count;
    printf("difftest: %" PRIu64 " sequences, %" PRIu64 " instructions, %" PRIu64
           " ended in a fault, %" PRIu64 " mismatches (seed %" PRIu64 ")\n",
           total, r.parts, r.faults, r.sum.mismatches, o.seed);
    summary_print(&r.sum);
    free(r.sum.g);
    if (rc) return 2;
    return r.sum.mismatches ? 1 : 0;
}
