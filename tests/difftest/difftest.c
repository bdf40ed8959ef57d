/* difftest.c — differential test of the plan86 CPU against the host CPU.
 *
 * Promises: generates --count random 32-bit user-mode sequences from --seed
 * (gen.h), runs each natively in the 32-bit helper process (batched over a
 * pipe) and in plan86 (emu.h), and compares registers, EIP, the fault (if
 * any), the arithmetic flags that are defined at that point, DF, and the data
 * and stack buffers. Each mismatch is narrowed to the first instruction after
 * which the two sides differ (by re-running prefixes of the sequence); the
 * first --show mismatches print the seed, index, bytes and both states, and a
 * summary groups all of them by that instruction. Exit status: 0 when all
 * match, 1 on any mismatch, 2 when the test cannot run.
 *
 * Reproduce one case: difftest --seed S --index I
 */
#include <errno.h>
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
#define MAX_DIAGNOSED 5000

struct options {
    uint64_t seed;
    uint64_t count;
    int64_t index;          /* one case only, printed; -1: all */
    int max_insns;
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

enum { D_FLAGS = 8, D_EIP, D_FAULT, D_DATA, D_STACK };
static const char *const reg_names[DT_NREGS] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

/* Flags compared: the defined arithmetic flags where the native run stopped, and DF. */
static uint32_t compared_flags(const struct dt_seq *s, const struct dt_result *nat, uint16_t end_undef)
{
    uint16_t undef = end_undef;
    if (nat->fault != DT_NO_FAULT) {
        const struct dt_part *p = dt_part_at(s, nat->regs.eip - DT_CODE_ADDR);
        undef = p ? p->undef_before : 0;
    }
    return (F_ARITH & ~(uint32_t)undef) | F_DF;
}

static uint32_t compare(const struct dt_result *a, const struct dt_result *b, uint32_t flag_mask)
{
    uint32_t d = 0;
    for (int r = 0; r < DT_NREGS; r++)
        if (a->regs.r[r] != b->regs.r[r]) d |= 1u << r;
    if ((a->regs.eflags ^ b->regs.eflags) & flag_mask) d |= 1u << D_FLAGS;
    if (a->regs.eip != b->regs.eip) d |= 1u << D_EIP;
    if (a->fault != b->fault) d |= 1u << D_FAULT;
    if (memcmp(a->data, b->data, DT_DATA_SIZE)) d |= 1u << D_DATA;
    if (memcmp(a->stack, b->stack, DT_STACK_SIZE)) d |= 1u << D_STACK;
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
    else printf(" fault vector %d\n", fault);
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
                           uint32_t mask, const struct dt_part *culprit)
{
    printf("MISMATCH seed=%" PRIu64 " index=%" PRIu64, o->seed, index);
    if (culprit) printf(" first differing after +%04x %s (%d-bit)", culprit->off, culprit->name, culprit->size * 8);
    printf("\n");
    print_code(s);
    print_regs("initial", &s->tc.init, DT_NO_FAULT, F_ARITH | F_DF);
    print_regs("native", &nat->regs, nat->fault, mask);
    print_regs("plan86", &emu->regs, emu->fault, mask);
    printf("    differs:");
    for (int r = 0; r < DT_NREGS; r++)
        if (diff & (1u << r)) printf(" %s", reg_names[r]);
    if (diff & (1u << D_FLAGS)) printf(" eflags");
    if (diff & (1u << D_EIP)) printf(" eip");
    if (diff & (1u << D_FAULT)) printf(" fault");
    if (diff & (1u << D_DATA)) print_mem_diff("data", DT_DATA_ADDR, nat->data, emu->data, DT_DATA_SIZE);
    if (diff & (1u << D_STACK)) print_mem_diff("stack", DT_STACK_ADDR, nat->stack, emu->stack, DT_STACK_SIZE);
    printf("  (memory shown native/plan86)\n    reproduce: difftest --seed %" PRIu64 " --index %" PRIu64 "\n\n",
           o->seed, index);
}

/* ---------------------------------------------------------------- diagnosis and summary */

/* The first part after which a prefix of the sequence already mismatches. */
static const struct dt_part *first_bad_part(struct helper *h, struct dt_emu *e, const struct dt_seq *s)
{
    const struct dt_part *last = s->nparts ? &s->part[s->nparts - 1] : NULL;
    for (int k = 0; k < s->nparts; k++) {
        const struct dt_part *p = &s->part[k];
        if (!p->cut_ok) continue;
        struct dt_case tc = s->tc;
        tc.code_len = p->off + p->len;
        struct dt_result nat, emu;
        if (helper_run(h, &tc, 1, &nat)) return last;
        dt_emu_run(e, &tc, &emu);
        if (compare(&nat, &emu, compared_flags(s, &nat, p->undef_after))) return p;
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
    for (size_t k = 0; k < sum->n; k++)
        printf("  %8" PRIu64 "  %-24s %2d-bit  (first: index %" PRIu64 ")\n", sum->g[k].count,
               sum->g[k].name, sum->g[k].size * 8, sum->g[k].first_index);
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
    uint32_t mask = compared_flags(s, nat, s->final_undef);
    uint32_t diff = compare(nat, emu, mask);
    r->parts += (uint64_t)s->nparts;
    if (nat->fault != DT_NO_FAULT) r->faults++;
    if (!diff) {
        if (verbose) {
            printf("match seed=%" PRIu64 " index=%" PRIu64 "\n", r->o->seed, index);
            print_code(s);
            print_regs("initial", &s->tc.init, DT_NO_FAULT, F_ARITH | F_DF);
            print_regs("both", &nat->regs, nat->fault, mask);
        }
        return;
    }
    const struct dt_part *culprit =
        r->sum.mismatches < MAX_DIAGNOSED ? first_bad_part(&r->h, r->e, s) : NULL;
    if (verbose || r->sum.mismatches < (uint64_t)r->o->show)
        print_mismatch(r->o, index, s, nat, emu, diff, mask, culprit);
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
            dt_generate(o->seed, base + k, o->max_insns, &seqs[k]);
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
    *o = (struct options){ .count = 100000, .index = -1, .max_insns = 8, .show = 10 };
    o->seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time(NULL);
    o->helper = default_helper(argv[0], helper_buf, len);
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (!v) goto bad;
        if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--count")) o->count = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--index")) o->index = (int64_t)strtoull(v, NULL, 0);
        else if (!strcmp(a, "--max-insns")) o->max_insns = atoi(v);
        else if (!strcmp(a, "--show")) o->show = atoi(v);
        else if (!strcmp(a, "--helper")) o->helper = v;
        else goto bad;
        k++;
    }
    return 0;
bad:
    fprintf(stderr, "usage: difftest [--seed S] [--count N] [--index I] [--max-insns M] "
                    "[--show K] [--helper PATH]\n");
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
    printf("difftest: seed %" PRIu64 ", %" PRIu64 " sequences of up to %d instructions\n",
           o.seed, o.index >= 0 ? 1 : o.count, o.max_insns);
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
