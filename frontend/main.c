/* main.c — the plan86 command-line program and headless runner.
 *
 * Promises: parses options (see options.h), builds the machine, streams guest
 * console output (COM1 and the debug console) to stdout or a file, feeds
 * stdin to COM1 (raw keys when stdin is a terminal, restored at exit), stops
 * with success once the --expect text appears, types the --send-after text
 * once its marker appears, and when the guest stops prints one summary line
 * to stderr. Any error is one line on stderr and a non-zero exit status:
 * 1 for run-time errors and triple faults under --no-reboot, 2 for bad
 * options, 124 on timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "options.h"
#include "plan86-build.h"
#include "plan86.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 124 };

/* Set by SIGINT/SIGTERM; the input poll turns it into plan86_stop. The only
 * global: a signal handler has no other way to reach the runner. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Finds `text` in a byte stream that arrives in pieces. */
struct stream_match {
    const char *text;
    size_t len, matched;
    bool found;
};

static void match_init(struct stream_match *sm, const char *text, size_t len)
{
    *sm = (struct stream_match){ .text = text, .len = len };
}

/* Feeds bytes; true the first time the text is complete. */
static bool match_feed(struct stream_match *sm, const uint8_t *bytes, size_t n)
{
    if (!sm->text || sm->found)
        return false;
    for (size_t k = 0; k < n; k++) {
        while (sm->matched && (uint8_t)sm->text[sm->matched] != bytes[k]) {
            /* fall back: the longest proper prefix of the matched part that is also its suffix */
            size_t m = sm->matched - 1;
            while (m && memcmp(sm->text, sm->text + sm->matched - m, m)) m--;
            sm->matched = m;
        }
        if ((uint8_t)sm->text[sm->matched] == bytes[k] && ++sm->matched == sm->len) {
            sm->found = true;
            return true;
        }
    }
    return false;
}

struct runner {
    struct plan86 *p;
    FILE *out;                  /* console output, or NULL for --serial none */
    bool stdin_input;
    bool stdin_eof;
    bool tty_raw;
    struct termios saved_tty;
    struct stream_match expect, send_marker;
    const char *send_text;
    bool expect_seen;
};

static void console_out(void *opaque, const uint8_t *bytes, size_t len)
{
    struct runner *r = opaque;
    if (r->out) {
        fwrite(bytes, 1, len, r->out);
        if (memchr(bytes, '\n', len) || r->tty_raw)
            fflush(r->out);
    }
    if (match_feed(&r->send_marker, bytes, len)) {
        plan86_serial_type(r->p, (const uint8_t *)r->send_text, strlen(r->send_text));
        plan86_serial_type(r->p, (const uint8_t *)"\n", 1);
    }
    if (match_feed(&r->expect, bytes, len)) {
        r->expect_seen = true;
        plan86_stop(r->p);
    }
}

/* Non-blocking read of what stdin has now. */
static size_t stdin_input(void *opaque, uint8_t *buf, size_t cap)
{
    struct runner *r = opaque;
    if (interrupted)
        plan86_stop(r->p);
    if (r->stdin_eof)
        return 0;
    struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
        return 0;
    ssize_t n = read(STDIN_FILENO, buf, cap);
    if (n <= 0) {
        r->stdin_eof = n == 0 || errno != EAGAIN;
        return 0;
    }
    return (size_t)n;
}

static void tty_raw_begin(struct runner *r)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &r->saved_tty) != 0)
        return;
    struct termios raw = r->saved_tty;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);   /* keys go to the guest; Ctrl-C still stops plan86 */
    raw.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    r->tty_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void tty_raw_end(struct runner *r)
{
    if (r->tty_raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &r->saved_tty);
    r->tty_raw = false;
}

static int exit_status_for(enum plan86_stop_reason reason)
{
    static const int status[] = {
        [PLAN86_STOP_REQUESTED] = EXIT_OK,
        [PLAN86_STOP_HALTED] = EXIT_OK,
        [PLAN86_STOP_IDLE] = EXIT_OK,
        [PLAN86_STOP_SHUTDOWN] = EXIT_FAIL,
        [PLAN86_STOP_TIMEOUT] = EXIT_TIMEOUT,
        [PLAN86_STOP_POWEROFF] = EXIT_OK,
        [PLAN86_STOP_RESET] = EXIT_OK,
    };
    return reason < sizeof status / sizeof status[0] ? status[reason] : EXIT_FAIL;
}

static void print_summary(const struct plan86 *p, const struct runner *r)
{
    struct plan86_stats st;
    plan86_get_stats(p, &st);
    char resets[64] = "";
    if (st.resets)
        snprintf(resets, sizeof resets, "%llu machine reset%s, ",
                 (unsigned long long)st.resets, st.resets == 1 ? "" : "s");
    const char *why = r->expect_seen ? "the expected text appeared" : plan86_stop_message(p);
    fprintf(stderr, "plan86: %s; %s%llu instructions, %.6f s virtual, %.6f s wall\n",
            why, resets, (unsigned long long)st.instructions,
            (double)st.virtual_ns / 1e9, (double)st.wall_ns / 1e9);
}

static bool open_output(struct runner *r, const char *serial, char *err, size_t err_size)
{
    if (!serial || !strcmp(serial, "stdio")) {
        r->out = stdout;
        r->stdin_input = true;
    } else if (!strncmp(serial, "file:", 5)) {
        r->out = fopen(serial + 5, "ab");
        if (!r->out) {
            snprintf(err, err_size, "--serial: cannot open %s: %s", serial + 5, strerror(errno));
            return false;
        }
    }
    return true;
}

static void setup_matches(struct runner *r, const struct runner_options *run)
{
    if (run->expect && *run->expect)
        match_init(&r->expect, run->expect, strlen(run->expect));
    if (run->send_after) {
        const char *eq = strchr(run->send_after, '=');
        match_init(&r->send_marker, run->send_after, (size_t)(eq - run->send_after));
        r->send_text = eq + 1;
    }
}

static int run_machine(const struct cli_options *opts)
{
    char err[256];
    struct runner r = { 0 };
    if (!open_output(&r, opts->run.serial, err, sizeof err)) {
        fprintf(stderr, "plan86: %s\n", err);
        return EXIT_FAIL;
    }
    r.p = plan86_create(&opts->config, err, sizeof err);
    if (!r.p) {
        fprintf(stderr, "plan86: %s\n", err);
        if (r.out && r.out != stdout) fclose(r.out);
        return EXIT_FAIL;
    }
    setup_matches(&r, &opts->run);
    plan86_set_console(r.p, console_out, &r);
    plan86_set_serial_input(r.p, r.stdin_input ? stdin_input : NULL, &r);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (r.stdin_input)
        tty_raw_begin(&r);
    enum plan86_stop_reason reason = plan86_run(r.p);
    tty_raw_end(&r);
    if (r.out)
        fflush(r.out);
    print_summary(r.p, &r);
    plan86_destroy(r.p);
    if (r.out && r.out != stdout)
        fclose(r.out);
    if (r.expect_seen)
        return EXIT_OK;
    if (opts->run.expect && reason == PLAN86_STOP_TIMEOUT)
        fprintf(stderr, "plan86: timeout: '%s' did not appear on the console\n", opts->run.expect);
    return interrupted ? EXIT_FAIL : exit_status_for(reason);
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
    } else if (!opts.config.demo && !opts.config.bios_path && !opts.config.kernel_path) {
        fprintf(stderr, "plan86: nothing to run: give --kernel FILE, --bios FILE or --demo (see --help)\n");
        status = EXIT_USAGE;
    } else {
        status = run_machine(&opts);
    }
    cli_options_free(&opts);
    return status;
}
