/* options.h — command line and JSON config file parsing for plan86.
 *
 * Promises: one table of options serves the command line, the JSON config
 * file (--config FILE) and --help, so every option has the same meaning in
 * both places. The config file is applied first and the command line wins
 * (a repeatable option such as --port-log adds to the file's list).
 * Every failure produces one line of text saying what was wrong.
 */
#ifndef PLAN86_OPTIONS_H
#define PLAN86_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plan86.h"

#define CLI_MAX_OWNED (PLAN86_MAX_PORT_LOGS + 24)

/* What the headless runner does around the machine (main.c). */
struct runner_options {
    const char *serial;       /* "stdio" (default), "none" or "file:PATH" */
    const char *expect;       /* stop with success once this text is on the console */
    const char *send_after;   /* "MARKER=TEXT": type TEXT + newline once MARKER appears */
};

struct cli_options {
    struct plan86_config config;
    struct runner_options run;
    bool help, version;
    char *owned[CLI_MAX_OWNED];   /* strings from a config file */
    int nowned;
};

/* Fills *o from defaults, the config file if any, then argv. Returns false
 * with a one-line message in err on any bad option or value. Always call
 * cli_options_free afterwards. */
bool cli_parse(int argc, char *const argv[], struct cli_options *o, char *err, size_t err_size);
/* Applies a JSON config document; `source` names it in messages. */
bool cli_apply_json(struct cli_options *o, const char *json, const char *source, char *err, size_t err_size);
void cli_options_free(struct cli_options *o);
void cli_print_help(FILE *out);

/* Value parsers (exposed for the tests). SIZE: a number with an optional
 * K/M/G suffix (optionally followed by B or iB); no suffix means MiB. */
bool cli_parse_size(const char *text, unsigned long long *bytes);
/* SECONDS: a positive decimal number, to nanoseconds. */
bool cli_parse_seconds(const char *text, unsigned long long *ns);
/* PORT=FILE: PORT in decimal or 0x hex, 0..0xFFFF; FILE non-empty (*path
 * points into text). */
bool cli_parse_port_log(const char *text, uint16_t *port, const char **path);
/* --serial: stdio, none or file:PATH (non-empty PATH). */
bool cli_parse_serial(const char *text);

#endif
