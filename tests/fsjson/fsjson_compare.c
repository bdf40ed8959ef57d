/* fsjson_compare.c — loads a v86 fs.json image into plan86 (plan86_create with
 * fs_json, no guest run) and compares it through the embedding API with the
 * tree it was made from: every regular file of the manifest must read back
 * through plan86_read_file (which fetches its blob) with exactly the bytes of
 * EXPECTED_DIR/PATH, every directory must refuse to be read as a file, a name
 * that is not in the image must be missing, and plan86_create_file over one of
 * the image's files must change that file only (the others, which may share
 * its blob, read back unchanged).
 *
 * Usage: fsjson_compare FS_JSON BASE|- EXPECTED_DIR MANIFEST
 *   FS_JSON and BASE as --fs-json and --fs-base take them ("-": no base, the
 *   fs.json's own folder); MANIFEST has one line per path:
 *   path<TAB>type<TAB>mode-octal<TAB>uid<TAB>gid<TAB>mtime<TAB>size-or-target
 *   with type file, dir or symlink (f, d, l, and regular/directory also do).
 * Prints one line per failed check on stderr and a summary on stdout; exits 0
 * when all passed, 1 when one failed, 2 on bad arguments or a bad manifest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan86.h"

enum entry_type { TYPE_FILE, TYPE_DIR, TYPE_SYMLINK, TYPE_UNKNOWN };

struct entry {
    char *path;              /* without a leading "/" or "./" */
    enum entry_type type;
};

struct manifest {
    struct entry *entries;
    size_t count, cap;
};

struct comparison {
    struct plan86 *p;
    const char *expected_dir;
    const char *image;       /* the fs.json, for messages */
    int checks, failures;
};

static enum entry_type type_of(const char *word)
{
    static const struct { const char *word; enum entry_type type; } words[] = {
        { "file", TYPE_FILE }, { "f", TYPE_FILE }, { "regular", TYPE_FILE }, { "reg", TYPE_FILE },
        { "dir", TYPE_DIR }, { "d", TYPE_DIR }, { "directory", TYPE_DIR },
        { "symlink", TYPE_SYMLINK }, { "l", TYPE_SYMLINK }, { "link", TYPE_SYMLINK },
    };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (!strcmp(word, words[k].word)) return words[k].type;
    return TYPE_UNKNOWN;
}

static const char *relative(const char *path)
{
    while (!strncmp(path, "./", 2) || *path == '/')
        path += *path == '/' ? 1 : 2;
    return path;
}

/* Splits a manifest line (no newline) into its 7 tab-separated fields. */
static bool split_fields(char *line, char *fields[7])
{
    int n = 0;
    for (char *f = line; n < 7; n++) {
        fields[n] = f;
        char *tab = strchr(f, '\t');
        if (!tab) return n == 6;
        *tab = '\0';
        f = tab + 1;
    }
    return false;
}

static bool add_entry(struct manifest *m, const char *path, enum entry_type type)
{
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct entry *bigger = realloc(m->entries, cap * sizeof *bigger);
        if (!bigger) return false;
        m->entries = bigger;
        m->cap = cap;
    }
    m->entries[m->count].path = strdup(path);
    m->entries[m->count].type = type;
    return m->entries[m->count++].path != NULL;
}

static void free_manifest(struct manifest *m)
{
    for (size_t k = 0; k < m->count; k++)
        free(m->entries[k].path);
    free(m->entries);
}

/* Reads MANIFEST; false with a message on the first bad line. */
static bool read_manifest(const char *path, struct manifest *m)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "fsjson_compare: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    char *line = NULL, *fields[7];
    size_t cap = 0;
    bool ok = true;
    for (unsigned number = 1; ok && getline(&line, &cap, f) >= 0; number++) {
        line[strcspn(line, "\n")] = '\0';
        ok = split_fields(line, fields) && type_of(fields[1]) != TYPE_UNKNOWN;
        if (!ok)
            fprintf(stderr, "fsjson_compare: %s line %u: not PATH TYPE MODE UID GID MTIME SIZE\n", path, number);
        else if (*relative(fields[0]) && !add_entry(m, relative(fields[0]), type_of(fields[1])))
            ok = false;
    }
    free(line);
    fclose(f);
    if (ok && m->count == 0) {
        fprintf(stderr, "fsjson_compare: %s lists nothing\n", path);
        ok = false;
    }
    return ok;
}

/* Reads a whole host file; NULL with a message on failure. */
static void *read_host_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (!f) {
        fprintf(stderr, "fsjson_compare: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    for (size_t got = 1; got > 0; *len += got) {
        if (*len == cap) {
            char *bigger = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (!bigger) break;
            buf = bigger;
        }
        got = fread(buf + *len, 1, cap - *len, f);
    }
    bool ok = feof(f) && !ferror(f);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "fsjson_compare: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    return buf;
}

static void report(struct comparison *c, bool ok, const char *path, const char *what, int err)
{
    c->checks++;
    if (ok) return;
    c->failures++;
    fprintf(stderr, "fsjson_compare: FAIL %s: /%s %s%s%s%s\n", c->image, path, what,
            err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
}

/* The guest's /rel holds exactly `want`. */
static void expect_bytes(struct comparison *c, const char *rel, const void *want, size_t want_len)
{
    char guest_path[4096];
    snprintf(guest_path, sizeof guest_path, "/%s", rel);
    void *data = NULL;
    size_t len = 0;
    int e = plan86_read_file(c->p, guest_path, &data, &len);
    report(c, e == 0 && len == want_len && memcmp(data, want, len) == 0, rel,
           e ? "cannot be read" : "differs from the expected bytes", e);
    free(data);
}

static void expect_same_as_expected(struct comparison *c, const char *rel)
{
    char host_path[4096];
    snprintf(host_path, sizeof host_path, "%s/%s", c->expected_dir, rel);
    size_t len;
    void *want = read_host_file(host_path, &len);
    if (!want) {
        report(c, false, rel, "has no expected copy", 0);
        return;
    }
    expect_bytes(c, rel, want, len);
    free(want);
}

/* read_file of a directory, or of a missing name, must fail. */
static void expect_unreadable(struct comparison *c, const char *rel, const char *what)
{
    char guest_path[4096];
    snprintf(guest_path, sizeof guest_path, "/%s", rel);
    void *data = NULL;
    size_t len;
    int e = plan86_read_file(c->p, guest_path, &data, &len);
    report(c, e != 0, rel, what, e);
    free(data);
}

static void compare_files(struct comparison *c, const struct manifest *m, const char *skip)
{
    for (size_t k = 0; k < m->count; k++) {
        const struct entry *e = &m->entries[k];
        if (e->type == TYPE_FILE && (!skip || strcmp(e->path, skip)))
            expect_same_as_expected(c, e->path);
    }
}

static void compare(struct comparison *c, const struct manifest *m)
{
    compare_files(c, m, NULL);
    for (size_t k = 0; k < m->count; k++)
        if (m->entries[k].type == TYPE_DIR)
            expect_unreadable(c, m->entries[k].path, "reads as a file");
    expect_unreadable(c, "fsjson-compare-no-such-name", "exists");
    /* Overwrite the first file; the rest must not change with it. */
    for (size_t k = 0; k < m->count; k++) {
        if (m->entries[k].type != TYPE_FILE) continue;
        static const char text[] = "written over by plan86_create_file\n";
        char guest_path[4096];
        snprintf(guest_path, sizeof guest_path, "/%s", m->entries[k].path);
        int e = plan86_create_file(c->p, guest_path, text, sizeof text - 1);
        report(c, e == 0, m->entries[k].path, "cannot be written over", e);
        expect_bytes(c, m->entries[k].path, text, sizeof text - 1);
        compare_files(c, m, m->entries[k].path);
        break;
    }
}

static size_t count_type(const struct manifest *m, enum entry_type type)
{
    size_t n = 0;
    for (size_t k = 0; k < m->count; k++)
        n += m->entries[k].type == type;
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fsjson_compare FS_JSON BASE|- EXPECTED_DIR MANIFEST\n");
        return 2;
    }
    struct manifest m = { 0 };
    if (!read_manifest(argv[4], &m)) {
        free_manifest(&m);
        return 2;
    }
    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.fs_json = argv[1];
    cfg.fs_base = strcmp(argv[2], "-") ? argv[2] : NULL;
    char err[256];
    struct comparison c = { .p = plan86_create(&cfg, err, sizeof err), .expected_dir = argv[3], .image = argv[1] };
    if (!c.p) {
        fprintf(stderr, "fsjson_compare: FAIL %s: %s\n", argv[1], err);
        free_manifest(&m);
        return 1;
    }
    compare(&c, &m);
    plan86_destroy(c.p);
    printf("fsjson_compare: %s: %zu files, %zu directories, %zu symlinks; %d checks, %d failed\n",
           argv[1], count_type(&m, TYPE_FILE), count_type(&m, TYPE_DIR), count_type(&m, TYPE_SYMLINK),
           c.checks, c.failures);
    free_manifest(&m);
    return c.failures ? 1 : 0;
}
