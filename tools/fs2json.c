/* tools/fs2json.c — plan86-fs2json: the v86 fs.json index of a tree.
 *
 *   plan86-fs2json [--exclude PATH]... [--zstd] [--out FILE] DIR|TARFILE
 *
 * Promises: compact JSON {"fsroot":[...],"version":3,"size":N} as v86's
 * tools/fs2json.py writes it: entries [name, size, mtime, mode, uid, gid,
 * x] with x the blob name (first 8 hex digits of the SHA-256 of the contents
 * + ".bin", or ".bin.zst" with --zstd) of a regular file, the children of a
 * directory or the target of a symlink; devices, fifos and sockets have six
 * fields. "size" sums every entry's size. Children are sorted by name, so the
 * same tree gives the same bytes. Every number is written exactly, and one
 * that a JSON reader could not hold exactly (beyond 2^53) is refused, as are
 * names that are not UTF-8 and two contents sharing a blob name. Errors are
 * one line on stderr and exit status 1; --out FILE appears whole or not at all.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "fs9p/blob_name.h"
#include "tools/lib/atomic_file.h"
#include "tools/lib/fs_tree.h"

#define PROG "plan86-fs2json"
#define USAGE "usage: " PROG " [--exclude PATH]... [--zstd] [--out FILE] DIR|TARFILE"
#define JSON_EXACT_MAX (INT64_C(1) << 53)   /* doubles hold integers exactly up to here */
#define NOT_EXACT " beyond 2^53, which JSON readers cannot hold exactly"

struct options {
    const char **excludes;
    size_t nexcludes;
    bool zstd;
    const char *out;
    const char *input;
};

struct emitter {
    bool zstd;
    int64_t total;                 /* sum of the size fields */
    char path[FS_PATH_MAX];        /* the entry being written, for errors */
    struct fs_err *err;
};

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static bool valid_utf8(const char *s)
{
    static const uint32_t min_for_len[4] = { 0, 0x80, 0x800, 0x10000 };
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3 : 4;
        if (more == 4)
            return false;
        uint32_t cp = more ? *p & (0x3f >> more) : *p;
        for (size_t i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min_for_len[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += more + 1;
    }
    return true;
}

static bool add_int(struct emitter *em, cJSON *arr, int64_t v, const char *field)
{
    if (v > JSON_EXACT_MAX || v < -JSON_EXACT_MAX)
        return fs_fail(em->err, "%s: %s %" PRId64 " is" NOT_EXACT, em->path, field, v);
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    cJSON *num = cJSON_CreateRaw(text);
    return (num && cJSON_AddItemToArray(arr, num)) || fs_fail(em->err, "out of memory");
}

static bool add_string(struct emitter *em, cJSON *arr, const char *s, const char *what)
{
    if (!valid_utf8(s))
        return fs_fail(em->err, "%s: %s is not valid UTF-8, which JSON cannot carry",
                       em->path, what);
    cJSON *str = cJSON_CreateString(s);
    return (str && cJSON_AddItemToArray(arr, str)) || fs_fail(em->err, "out of memory");
}

/* The entry's size, also counted into the index's total. */
static bool add_size(struct emitter *em, cJSON *arr, uint64_t size)
{
    if (size > (uint64_t)JSON_EXACT_MAX)
        return fs_fail(em->err, "%s: size %" PRIu64 " is" NOT_EXACT, em->path, size);
    if (em->total > JSON_EXACT_MAX - (int64_t)size)
        return fs_fail(em->err, "%s: the sizes add up" NOT_EXACT, em->path);
    em->total += (int64_t)size;
    return add_int(em, arr, (int64_t)size, "size");
}

static bool add_children(struct emitter *em, cJSON *arr, const struct fs_node *dir);

/* x, the seventh field: by type, or none. */
static bool add_payload(struct emitter *em, cJSON *entry, const struct fs_node *n)
{
    if (fs_node_is(n, S_IFREG)) {
        char blob[32];
        blob_name_for(n->digest, em->zstd, blob, sizeof blob);
        return add_string(em, entry, blob, "blob name");
    }
    if (fs_node_is(n, S_IFLNK))
        return add_string(em, entry, n->target, "symlink target");
    if (!fs_node_is(n, S_IFDIR))
        return true;
    cJSON *kids = cJSON_CreateArray();
    if (!kids || !cJSON_AddItemToArray(entry, kids)) {
        cJSON_Delete(kids);
        return fs_fail(em->err, "out of memory");
    }
    return add_children(em, kids, n);
}

static bool add_entry(struct emitter *em, cJSON *arr, const struct fs_node *n)
{
    cJSON *entry = cJSON_CreateArray();
    if (!entry || !cJSON_AddItemToArray(arr, entry)) {
        cJSON_Delete(entry);
        return fs_fail(em->err, "out of memory");
    }
    return add_string(em, entry, n->name, "the name") &&
           add_size(em, entry, n->size) &&
           add_int(em, entry, n->mtime, "mtime") && add_int(em, entry, n->mode, "mode") &&
           add_int(em, entry, n->uid, "uid") && add_int(em, entry, n->gid, "gid") &&
           add_payload(em, entry, n);
}

static bool add_children(struct emitter *em, cJSON *arr, const struct fs_node *dir)
{
    size_t len = strlen(em->path);
    for (size_t i = 0; i < dir->nkids; i++) {
        /* The tree's paths already fit in FS_PATH_MAX. */
        snprintf(em->path + len, sizeof em->path - len, "%s%s", len ? "/" : "",
                 dir->kids[i].name);
        if (!add_entry(em, arr, &dir->kids[i]))
            return false;
    }
    em->path[len] = '\0';
    return true;
}

/* The whole index as compact JSON text, or NULL with e set. */
static char *index_json(const struct fs_node *root, bool zstd, struct fs_err *e)
{
    struct emitter em = { .zstd = zstd, .err = e };
    cJSON *top = cJSON_CreateObject();
    cJSON *fsroot = cJSON_AddArrayToObject(top, "fsroot");
    char *text = NULL;
    if (!fsroot)
        fs_fail(e, "out of memory");
    else if (add_children(&em, fsroot, root)) {
        char size[24];
        snprintf(size, sizeof size, "%" PRId64, em.total);
        if (!cJSON_AddNumberToObject(top, "version", 3) || !cJSON_AddRawToObject(top, "size", size) ||
            !(text = cJSON_PrintUnformatted(top)))
            fs_fail(e, "out of memory");
    }
    cJSON_Delete(top);
    return text;
}

static bool write_stdout(const char *text, struct fs_err *e)
{
    size_t len = strlen(text);
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
        return fs_fail(e, "cannot write the index to standard output");
    return true;
}

static bool write_file(const char *path, const char *text, struct fs_err *e)
{
    char dir[FS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path)
                  : snprintf(dir, sizeof dir, ".");
    if (n < 0 || (size_t)n >= sizeof dir)
        return fs_fail(e, "%s: name too long", path);
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    struct atomic_file f;
    if (!atomic_open(&f, dir, e))
        return false;
    if (!atomic_write(&f, text, strlen(text), e)) {
        atomic_discard(&f);
        return false;
    }
    return atomic_commit(&f, path, e);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, PROG ": %s%s; " USAGE "\n", arg, what);
    return 1;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    if (!(o->excludes = calloc((size_t)argc, sizeof *o->excludes))) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool valued = strcmp(a, "--exclude") == 0 || strcmp(a, "--out") == 0;
        if (valued && i + 1 == argc)
            return usage_error(" needs a value", a);
        if (strcmp(a, "--exclude") == 0)
            o->excludes[o->nexcludes++] = argv[++i];
        else if (strcmp(a, "--out") == 0)
            o->out = argv[++i];
        else if (strcmp(a, "--zstd") == 0)
            o->zstd = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\n", USAGE);
            return 0;
        } else if (a[0] == '-' || o->input)
            return usage_error(": unexpected argument", a);
        else
            o->input = a;
    }
    return o->input ? -1 : usage_error("no DIR or TARFILE given", "");
}

static bool run(const struct options *o, struct fs_err *e)
{
    struct fs_tree_opts topts = { .excludes = o->excludes, .nexcludes = o->nexcludes };
    struct fs_node root;
    if (!fs_tree_read(o->input, &topts, &root, e))
        return false;
    char *text = NULL;
    bool ok = fs_tree_check_blob_names(&root, e) && (text = index_json(&root, o->zstd, e));
    fs_tree_free(&root);
    if (ok)
        ok = o->out ? write_file(o->out, text, e) : write_stdout(text, e);
    cJSON_free(text);
    return ok;
}

int main(int argc, char **argv)
{
    struct options o = { 0 };
    int status = parse_args(argc, argv, &o);
    if (status < 0) {
        struct fs_err e = { { 0 } };
        status = run(&o, &e) ? 0 : 1;
        if (status)
            fprintf(stderr, PROG ": %s\n", e.msg);
    }
    free(o.excludes);
    return status;
}
