/* options.c — command line and JSON config parsing (see options.h). */
#include "options.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum opt_kind { OPT_HELP, OPT_VERSION, OPT_CONFIG, OPT_FLAG, OPT_SIZE, OPT_CACHE_SIZE, OPT_PATH,
                OPT_SECONDS, OPT_PORT_LOG, OPT_SERIAL, OPT_MARKER_TEXT };

struct opt_desc {
    const char *long_name;    /* "--memory" */
    const char *short_name;   /* "-m", or NULL */
    const char *json_key;     /* key in the config file, or NULL for command-line only */
    const char *arg;          /* argument name in --help, or NULL for a flag */
    enum opt_kind kind;
    size_t offset;            /* field in struct cli_options */
    const char *help;
};

#define CFG(field) offsetof(struct cli_options, config.field)
#define RUN(field) offsetof(struct cli_options, run.field)

static const struct opt_desc options[] = {
    { "--help", "-h", NULL, NULL, OPT_HELP, 0, "show this help and exit" },
    { "--version", NULL, NULL, NULL, OPT_VERSION, 0, "show the version and exit" },
    { "--config", NULL, NULL, "FILE", OPT_CONFIG, 0,
      "read options from a JSON file, e.g. {\"memory\": \"256M\", \"demo\": true};\n"
      "keys are the long option names; command-line options win" },
    { "--memory", "-m", "memory", "SIZE", OPT_SIZE, CFG(memory_bytes),
      "guest RAM, e.g. 256M or 1G (plain numbers are MiB; default 128M)" },
    { "--bios", NULL, "bios", "FILE", OPT_PATH, CFG(bios_path),
      "firmware image (64 or 128 KiB), mapped below 1 MiB and below 4 GiB" },
    { "--kernel", NULL, "kernel", "FILE", OPT_PATH, CFG(kernel_path),
      "boot this Linux bzImage: directly (PCI, e820, ACPI set up by plan86),\n"
      "or through the firmware given with --bios" },
    { "--initrd", NULL, "initrd", "FILE", OPT_PATH, CFG(initrd_path),
      "with --kernel: the initial RAM disk" },
    { "--append", NULL, "append", "CMDLINE", OPT_PATH, CFG(cmdline),
      "with --kernel: the kernel command line, e.g. \"console=ttyS0\"" },
    { "--fs-dir", NULL, "fs-dir", "DIR", OPT_PATH, CFG(fs_dir),
      "serve DIR to the guest over virtio-9p (confined beneath DIR), e.g. with\n"
      "--append \"root=host9p rootfstype=9p rootflags=trans=virtio,version=9p2000.L rw\"" },
    { "--fs-mem", NULL, "fs-mem", NULL, OPT_FLAG, CFG(fs_mem),
      "serve an empty in-memory file system over virtio-9p instead" },
    { "--fs-import", NULL, "fs-import", "DIR", OPT_PATH, CFG(fs_import),
      "with --fs-mem: copy the host tree DIR into it at start (host unchanged)" },
    { "--fs-json", NULL, "fs-json", "URL|PATH", OPT_PATH, CFG(fs_json),
      "serve a v86 fs.json image over virtio-9p: files are fetched (http://,\n"
      "https://, file:// or a path) when first read, checked against their\n"
      "SHA-256 names, cached; changes stay in memory" },
    { "--fs-base", NULL, "fs-base", "URL|DIR", OPT_PATH, CFG(fs_base),
      "with --fs-json: where the blobs are (default: beside the fs.json)" },
    { "--fs-cache", NULL, "fs-cache", "SIZE", OPT_CACHE_SIZE, CFG(fs_cache_bytes),
      "with --fs-json: memory for fetched blobs (default 64M)" },
    { "--fs-cache-dir", NULL, "fs-cache-dir", "DIR", OPT_PATH, CFG(fs_cache_dir),
      "with --fs-json: also keep fetched blobs in DIR, for later runs" },
    { "--fs-prefetch", NULL, "fs-prefetch", "FILE", OPT_PATH, CFG(fs_prefetch),
      "with --fs-json: fetch the guest paths listed in FILE (one a line) at start" },
    { "--fs-tag", NULL, "fs-tag", "TAG", OPT_PATH, CFG(fs_tag),
      "the 9p mount tag (default host9p)" },
    { "--serial", NULL, "serial", "MODE", OPT_SERIAL, RUN(serial),
      "COM1: stdio (default: output to stdout, input from stdin), none,\n"
      "or file:PATH (output appended to PATH, no input)" },
    { "--expect", NULL, "expect", "TEXT", OPT_PATH, RUN(expect),
      "stop with exit status 0 as soon as TEXT appears on the console" },
    { "--send-after", NULL, "send-after", "MARKER=TEXT", OPT_MARKER_TEXT, RUN(send_after),
      "type TEXT and a newline into COM1 once MARKER appears on the console" },
    { "--demo", NULL, "demo", NULL, OPT_FLAG, CFG(demo),
      "run the built-in demo: protected mode, Fibonacci numbers on port 0xE9" },
    { "--deterministic", NULL, "deterministic", NULL, OPT_FLAG, CFG(deterministic),
      "virtual time advances 1 ns per instruction; runs are reproducible" },
    { "--timeout", NULL, "timeout", "SECONDS", OPT_SECONDS, CFG(timeout_ns),
      "stop after this much guest time (exit status 124)" },
    { "--no-reboot", NULL, "no-reboot", NULL, OPT_FLAG, CFG(no_reboot),
      "stop on a triple fault (exit status 1) or a guest reset (exit status 0)\n"
      "instead of resetting the machine" },
    { "--port-log", NULL, "port-log", "PORT=FILE", OPT_PORT_LOG, 0,
      "append every byte the guest writes to I/O port PORT (0x... hex or decimal)\n"
      "to FILE; the port's device still works; repeatable (in the config file:\n"
      "a string or a list of strings), e.g. --port-log 0x80=post.log" },
};

#define NOPTIONS (sizeof options / sizeof options[0])

void cli_print_help(FILE *out)
{
    fputs("Usage: plan86 [OPTIONS]\n"
          "An x86 PC emulator. Guest output on the serial console (COM1) and the debug\n"
          "console (port 0xE9) goes to stdout; a one-line summary goes to stderr when\n"
          "the guest stops.\n\nOptions:\n", out);
    for (size_t k = 0; k < NOPTIONS; k++) {
        const struct opt_desc *d = &options[k];
        char names[48];
        snprintf(names, sizeof names, "%s%s%s%s%s", d->short_name ? d->short_name : "",
                 d->short_name ? ", " : "    ", d->long_name, d->arg ? " " : "", d->arg ? d->arg : "");
        fprintf(out, "  %-26s", names);
        for (const char *line = d->help; *line;) {
            size_t len = strcspn(line, "\n");
            fprintf(out, "%s%.*s\n", line == d->help ? "" : "                            ", (int)len, line);
            line += len + (line[len] == '\n');
        }
    }
    fputs("\nA triple fault resets the machine (RAM is kept) unless --no-reboot is given.\n"
          "Exit status: 0 when the guest powers off, stops cleanly (halts with interrupts\n"
          "off, or is idle for good in deterministic mode), resets under --no-reboot, or\n"
          "prints the --expect text; 1 on errors and on a triple fault with --no-reboot,\n"
          "2 on bad options, 124 on timeout.\n", out);
}

/* ---- value parsers ---- */

static unsigned long long suffix_multiplier(const char *s)
{
    static const struct { char letter; unsigned shift; } units[] = {
        { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
    };
    if (*s == '\0')
        return 1ull << 20;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        if ((s[0] & ~0x20) != units[k].letter)
            continue;
        const char *rest = s + 1;
        if (*rest == '\0' || strcasecmp(rest, "B") == 0 || strcasecmp(rest, "iB") == 0)
            return 1ull << units[k].shift;
    }
    return 0;
}

bool cli_parse_size(const char *text, unsigned long long *bytes)
{
    if (!text || *text < '0' || *text > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    unsigned long long mult = suffix_multiplier(end);
    if (errno || !mult || n > ~0ull / mult)
        return false;
    *bytes = n * mult;
    return true;
}

static bool parse_port(const char *text, size_t len, uint16_t *port)
{
    bool hex = len > 2 && text[0] == '0' && (text[1] | 0x20) == 'x';
    const char *digits = hex ? "0123456789abcdefABCDEF" : "0123456789";
    size_t skip = hex ? 2 : 0;
    if (len == skip || len - skip > 8 || strspn(text + skip, digits) < len - skip)
        return false;
    unsigned long v = strtoul(text + skip, NULL, hex ? 16 : 10);
    if (v > 0xFFFF)
        return false;
    *port = (uint16_t)v;
    return true;
}

bool cli_parse_port_log(const char *text, uint16_t *port, const char **path)
{
    const char *eq = text ? strchr(text, '=') : NULL;
    if (!eq || !eq[1] || !parse_port(text, (size_t)(eq - text), port))
        return false;
    *path = eq + 1;
    return true;
}

bool cli_parse_seconds(const char *text, unsigned long long *ns)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    double s = strtod(text, &end);
    if (errno || *end || !isfinite(s) || s <= 0 || s > 1e9)
        return false;
    *ns = (unsigned long long)(s * 1e9);
    return *ns > 0;
}

/* ---- applying one option ---- */

static void *config_field(struct cli_options *o, const struct opt_desc *d)
{
    return (char *)o + d->offset;
}

bool cli_parse_serial(const char *text)
{
    return text && (!strcmp(text, "stdio") || !strcmp(text, "none") ||
                    (!strncmp(text, "file:", 5) && text[5]));
}

/* Checked strings: --serial MODE and --send-after MARKER=TEXT. */
static bool apply_checked_string(struct cli_options *o, const struct opt_desc *d, const char *value,
                                 char *err, size_t err_size)
{
    bool ok = d->kind == OPT_SERIAL ? cli_parse_serial(value)
                                    : (value && value[0] != '=' && strchr(value, '=') != NULL);
    if (!ok) {
        snprintf(err, err_size, d->kind == OPT_SERIAL
                 ? "%s: '%s' is not stdio, none or file:PATH"
                 : "%s: '%s' is not MARKER=TEXT with a non-empty MARKER", d->long_name, value ? value : "");
        return false;
    }
    *(const char **)config_field(o, d) = value;
    return true;
}

/* What a size option accepts: guest RAM, or a cache's bound. */
static const struct size_range {
    unsigned long long min, max, align;
    const char *text;
} size_ranges[] = {
    [OPT_SIZE] = { PLAN86_MIN_MEMORY, PLAN86_MAX_MEMORY, 4096, "1M to 3G, a multiple of 4K" },
    [OPT_CACHE_SIZE] = { 1ull << 20, 1ull << 40, 1, "1M to 1T" },
};

static bool apply_size(struct cli_options *o, const struct opt_desc *d, const char *value,
                       char *err, size_t err_size)
{
    unsigned long long bytes;
    const struct size_range *r = &size_ranges[d->kind];
    if (!cli_parse_size(value, &bytes)) {
        snprintf(err, err_size, "%s: '%s' is not a size (examples: 256M, 1G)", d->long_name, value);
        return false;
    }
    if (bytes < r->min || bytes > r->max || bytes % r->align) {
        snprintf(err, err_size, "%s: %s is out of range (%s)", d->long_name, value, r->text);
        return false;
    }
    *(uint64_t *)config_field(o, d) = bytes;
    return true;
}

static bool apply_seconds(struct cli_options *o, const struct opt_desc *d, const char *value,
                          char *err, size_t err_size)
{
    unsigned long long ns;
    if (!cli_parse_seconds(value, &ns)) {
        snprintf(err, err_size, "%s: '%s' is not a positive number of seconds", d->long_name, value);
        return false;
    }
    *(uint64_t *)config_field(o, d) = ns;
    return true;
}

static bool apply_port_log(struct cli_options *o, const struct opt_desc *d, const char *value,
                           char *err, size_t err_size)
{
    struct plan86_config *cfg = &o->config;
    if (cfg->nport_logs == PLAN86_MAX_PORT_LOGS) {
        snprintf(err, err_size, "%s: at most %d port logs", d->long_name, PLAN86_MAX_PORT_LOGS);
        return false;
    }
    struct plan86_port_log *log = &cfg->port_logs[cfg->nport_logs];
    if (!cli_parse_port_log(value, &log->port, &log->path)) {
        snprintf(err, err_size, "%s: '%s' is not PORT=FILE with a port from 0 to 0xFFFF "
                 "(example: 0xE9=debug.txt)", d->long_name, value);
        return false;
    }
    cfg->nport_logs++;
    return true;
}

/* Applies a command-line option (value is NULL for flags). */
static bool apply_cli_value(struct cli_options *o, const struct opt_desc *d, const char *value,
                            char *err, size_t err_size)
{
    switch (d->kind) {
    case OPT_HELP: o->help = true; return true;
    case OPT_VERSION: o->version = true; return true;
    case OPT_CONFIG: return true;   /* handled by the first pass */
    case OPT_FLAG: *(bool *)config_field(o, d) = true; return true;
    case OPT_PATH: *(const char **)config_field(o, d) = value; return true;
    case OPT_SIZE:
    case OPT_CACHE_SIZE: return apply_size(o, d, value, err, err_size);
    case OPT_SECONDS: return apply_seconds(o, d, value, err, err_size);
    case OPT_PORT_LOG: return apply_port_log(o, d, value, err, err_size);
    case OPT_SERIAL:
    case OPT_MARKER_TEXT: return apply_checked_string(o, d, value, err, err_size);
    }
    return false;
}

/* ---- the command line ---- */

static const struct opt_desc *find_option(const char *name, size_t len)
{
    for (size_t k = 0; k < NOPTIONS; k++) {
        const struct opt_desc *d = &options[k];
        if ((strlen(d->long_name) == len && strncmp(d->long_name, name, len) == 0) ||
            (d->short_name && strlen(d->short_name) == len && strncmp(d->short_name, name, len) == 0))
            return &options[k];
    }
    return NULL;
}

/* Reads the option at argv[*i] (with its value, "--opt=value" or the next
 * argument) and advances *i past it. */
static bool next_option(int argc, char *const argv[], int *i, const struct opt_desc **desc,
                        const char **value, char *err, size_t err_size)
{
    const char *arg = argv[(*i)++];
    if (arg[0] != '-') {
        snprintf(err, err_size, "unexpected argument '%s' (options start with -; see --help)", arg);
        return false;
    }
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    *desc = find_option(arg, name_len);
    if (!*desc) {
        snprintf(err, err_size, "unknown option '%.*s' (see --help)", (int)name_len, arg);
        return false;
    }
    *value = NULL;
    if (!(*desc)->arg) {
        if (eq) {
            snprintf(err, err_size, "%s takes no value", (*desc)->long_name);
            return false;
        }
        return true;
    }
    if (eq) {
        *value = eq + 1;
    } else if (*i < argc) {
        *value = argv[(*i)++];
    } else {
        snprintf(err, err_size, "%s needs a value: %s %s", (*desc)->long_name, (*desc)->long_name, (*desc)->arg);
        return false;
    }
    return true;
}

/* ---- the config file ---- */

static const struct opt_desc *find_json_option(const char *key)
{
    for (size_t k = 0; k < NOPTIONS; k++)
        if (options[k].json_key && strcmp(options[k].json_key, key) == 0)
            return &options[k];
    return NULL;
}

static char *keep_string(struct cli_options *o, const char *s)
{
    if (o->nowned == CLI_MAX_OWNED)
        return NULL;
    char *copy = strdup(s);
    if (copy)
        o->owned[o->nowned++] = copy;
    return copy;
}

static bool json_type_error(const struct opt_desc *d, const char *source, char *err, size_t err_size)
{
    static const char *const wanted[] = {
        [OPT_FLAG] = "true or false", [OPT_PATH] = "a string",
        [OPT_SIZE] = "a size string or a number of MiB", [OPT_CACHE_SIZE] = "a size string or a number of MiB",
        [OPT_SECONDS] = "a number of seconds",
        [OPT_PORT_LOG] = "a \"PORT=FILE\" string or a list of them",
        [OPT_SERIAL] = "\"stdio\", \"none\" or \"file:PATH\"", [OPT_MARKER_TEXT] = "a \"MARKER=TEXT\" string",
    };
    snprintf(err, err_size, "%s: \"%s\" must be %s", source, d->json_key, wanted[d->kind]);
    return false;
}

/* Sizes and durations: the JSON value becomes the text the command line would
 * have, so both are checked by the same code. */
static bool apply_json_number(struct cli_options *o, const struct opt_desc *d, const cJSON *item,
                              const char *source, char *err, size_t err_size)
{
    char text[64], why[200];
    if (cJSON_IsString(item))
        snprintf(text, sizeof text, "%s", item->valuestring);
    else if (cJSON_IsNumber(item))
        snprintf(text, sizeof text, d->kind == OPT_SECONDS ? "%.9g" : "%.0f", item->valuedouble);
    else
        return json_type_error(d, source, err, err_size);
    if (apply_cli_value(o, d, text, why, sizeof why))
        return true;
    snprintf(err, err_size, "%s: %s", source, why);
    return false;
}

/* A "PORT=FILE" string: kept, since the path points into it. */
static bool apply_json_port_log(struct cli_options *o, const struct opt_desc *d, const cJSON *item,
                                const char *source, char *err, size_t err_size)
{
    if (!cJSON_IsString(item))
        return json_type_error(d, source, err, err_size);
    const char *kept = keep_string(o, item->valuestring);
    char why[200];
    if (!kept)
        snprintf(err, err_size, "%s: too many strings or out of memory", source);
    else if (!apply_port_log(o, d, kept, why, sizeof why))
        snprintf(err, err_size, "%s: %s", source, why);
    else
        return true;
    return false;
}

static bool apply_json_port_logs(struct cli_options *o, const struct opt_desc *d, const cJSON *item,
                                 const char *source, char *err, size_t err_size)
{
    if (!cJSON_IsArray(item))
        return apply_json_port_log(o, d, item, source, err, err_size);
    for (const cJSON *elem = item->child; elem; elem = elem->next)
        if (!apply_json_port_log(o, d, elem, source, err, err_size))
            return false;
    return true;
}

static bool apply_json_item(struct cli_options *o, const struct opt_desc *d, const cJSON *item,
                            const char *source, char *err, size_t err_size)
{
    if (d->kind == OPT_SIZE || d->kind == OPT_CACHE_SIZE || d->kind == OPT_SECONDS)
        return apply_json_number(o, d, item, source, err, err_size);
    if (d->kind == OPT_PORT_LOG)
        return apply_json_port_logs(o, d, item, source, err, err_size);
    if (d->kind == OPT_FLAG && cJSON_IsBool(item)) {
        *(bool *)config_field(o, d) = cJSON_IsTrue(item);
        return true;
    }
    bool string_kind = d->kind == OPT_PATH || d->kind == OPT_SERIAL || d->kind == OPT_MARKER_TEXT;
    if (!string_kind || !cJSON_IsString(item))
        return json_type_error(d, source, err, err_size);
    const char *kept = keep_string(o, item->valuestring);
    char why[200];
    if (!kept) {
        snprintf(err, err_size, "%s: too many strings or out of memory", source);
        return false;
    }
    if (!apply_cli_value(o, d, kept, why, sizeof why)) {
        snprintf(err, err_size, "%s: %s", source, why);
        return false;
    }
    return true;
}

bool cli_apply_json(struct cli_options *o, const char *json, const char *source, char *err, size_t err_size)
{
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, err_size, "%s: not a JSON object (check the syntax)", source);
        cJSON_Delete(root);
        return false;
    }
    bool ok = true;
    for (const cJSON *item = root->child; ok && item; item = item->next) {
        const struct opt_desc *d = find_json_option(item->string);
        if (!d) {
            snprintf(err, err_size, "%s: unknown key \"%s\"", source, item->string);
            ok = false;
        } else {
            ok = apply_json_item(o, d, item, source, err, err_size);
        }
    }
    cJSON_Delete(root);
    return ok;
}

#define CONFIG_FILE_MAX (1u << 20)

static bool load_config_file(struct cli_options *o, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "--config: cannot open %s: %s", path, strerror(errno));
        return false;
    }
    char *text = malloc(CONFIG_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, CONFIG_FILE_MAX + 1, f) : 0;
    bool read_error = ferror(f);
    fclose(f);
    bool ok = false;
    if (!text)
        snprintf(err, err_size, "--config: out of memory");
    else if (read_error)
        snprintf(err, err_size, "--config: cannot read %s", path);
    else if (len > CONFIG_FILE_MAX)
        snprintf(err, err_size, "--config: %s is larger than 1 MiB", path);
    else {
        text[len] = '\0';
        ok = cli_apply_json(o, text, path, err, err_size);
    }
    free(text);
    return ok;
}

/* One pass over argv; the first pass applies only --config, the second the rest. */
static bool parse_pass(int argc, char *const argv[], struct cli_options *o, bool config_pass,
                       char *err, size_t err_size)
{
    for (int i = 1; i < argc;) {
        const struct opt_desc *d;
        const char *value;
        if (!next_option(argc, argv, &i, &d, &value, err, err_size))
            return false;
        bool ok = config_pass ? d->kind != OPT_CONFIG || load_config_file(o, value, err, err_size)
                              : apply_cli_value(o, d, value, err, err_size);
        if (!ok)
            return false;
    }
    return true;
}

bool cli_parse(int argc, char *const argv[], struct cli_options *o, char *err, size_t err_size)
{
    *o = (struct cli_options){ 0 };
    plan86_config_defaults(&o->config);
    return parse_pass(argc, argv, o, true, err, err_size) && parse_pass(argc, argv, o, false, err, err_size);
}

void cli_options_free(struct cli_options *o)
{
    for (int k = 0; k < o->nowned; k++)
        free(o->owned[k]);
    o->nowned = 0;
}
