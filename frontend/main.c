/* main.c — the plan86 command-line program.
 *
 * Promises: parses options (see options.h), builds the machine, streams guest
 * console output to stdout, and when the guest stops prints one summary line
 * to stderr (with the number of machine resets, if any). Any error is one
 * line on stderr and a non-zero exit status: 1 for run-time errors and
 * triple faults under --no-reboot, 2 for bad options, 124 on timeout.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "plan86-build.h"
#include "plan86.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 124 };

static void console_to_stdout(void *opaque, const uint8_t *bytes, size_t len)
{
    FILE *out = opaque;
    fwrite(bytes, 1, len, out);
    if (memchr(bytes, '\n', len))
        fflush(out);
}

static int exit_status_for(enum plan86_stop_reason reason)
{
    static const int status[] = {
        [PLAN86_STOP_REQUESTED] = EXIT_OK,
        [PLAN86_STOP_HALTED] = EXIT_OK,
        [PLAN86_STOP_IDLE] = EXIT_OK,
        [PLAN86_STOP_SHUTDOWN] = EXIT_FAIL,
        [PLAN86_STOP_TIMEOUT] = EXIT_TIMEOUT,
    };
    return status[reason];
}

static void print_summary(const struct plan86 *p)
{
    struct plan86_stats st;
    plan86_get_stats(p, &st);
    char resets[64] = "";
    if (st.resets)
        snprintf(resets, sizeof resets, "%llu reset%s after triple faults, ",
                 (unsigned long long)st.resets, st.resets == 1 ? "" : "s");
    fprintf(stderr, "plan86: %s; %s%llu instructions, %.6f s virtual, %.6f s wall\n",
            plan86_stop_message(p), resets, (unsigned long long)st.instructions,
            (double)st.virtual_ns / 1e9, (double)st.wall_ns / 1e9);
}

static int run_machine(const struct plan86_config *cfg)
{
    char err[256];
    struct plan86 *p = plan86_create(cfg, err, sizeof err);
    if (!p) {
        fprintf(stderr, "plan86: %s\n", err);
        return EXIT_FAIL;
    }
    plan86_set_console(p, console_to_stdout, stdout);
    enum plan86_stop_reason reason = plan86_run(p);
    fflush(stdout);
    print_summary(p);
    plan86_destroy(p);
    return exit_status_for(reason);
}

int main(int argc, char **argv)
{
    struct cli_options opts;
    char err[256];
    int status;
    if (!cli_parse(argc, argv, &opts, err, sizeof err)) {
        fprintf(stderr, "plan86: %s\n", err);
        status = EXIT_USAGE;
    } else if (opts.help) {
        cli_print_help(stdout);
        status = EXIT_OK;
    } else if (opts.version) {
        printf("plan86 %s (SDL2: %s)\n", PLAN86_VERSION, PLAN86_HAVE_SDL ? "yes" : "no");
        status = EXIT_OK;
    } else if (!opts.config.demo && !opts.config.bios_path) {
        fprintf(stderr, "plan86: nothing to run: give --demo or --bios FILE (see --help)\n");
        status = EXIT_USAGE;
    } else {
        status = run_machine(&opts.config);
    }
    cli_options_free(&opts);
    return status;
}
