/* fs9p/fsjson_load.c — fs.json into a mem tree (see fsjson_load.h). */
#include "fs9p/fsjson_load.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/backend_mem.h"
#include "fs9p/blob_name.h"

#define FSJSON_VERSION 3
#define MAX_EXACT_NUMBER 9007199254740992.0   /* 2^53: doubles are exact below it */
#define PATH_CAP 4096

enum { F_NAME, F_SIZE, F_MTIME, F_MODE, F_UID, F_GID, F_DATA, MIN_FIELDS = F_DATA };

struct loader {
    struct p9_backend *tree;
    const char *source;
    struct fsjson_summary *sum;
    char path[PATH_CAP];         /* of the entry being read, for messages */
    char *err;
    size_t err_size;
};

static int fail(struct loader *ld, int code, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (ld->path[0])
        snprintf(ld->err, ld->err_size, "fs.json %s: entry %s: %s", ld->source, ld->path, why);
    else
        snprintf(ld->err, ld->err_size, "fs.json %s: %s", ld->source, why);
    for (char *c = ld->err; *c; c++)       /* names from the index stay on one line */
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            *c = '?';
    return code;
}

/* A whole number in [0, max] (or above max up to 2^53 when max is 0). */
static bool get_uint(const cJSON *item, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= (max ? max : MAX_EXACT_NUMBER)) || v != (double)(uint64_t)v)
        return false;
    *out = (uint64_t)v;
    return true;
}

static int entry_number(struct loader *ld, const cJSON *e, int field, double max, const char *what,
                        uint64_t *out)
{
    if (!get_uint(cJSON_GetArrayItem(e, field), max, out))
        return fail(ld, EINVAL, "field %d (%s) is not a whole number in range", field, what);
    return 0;
}

static int load_dir(struct loader *ld, struct p9_node *dir, const cJSON *entries);

/* The seventh field as the entry's type needs it; fills e->blob/e->target. */
static int entry_data(struct loader *ld, const cJSON *data, struct p9_mem_entry *e)
{
    uint32_t type = e->mode & S_IFMT;
    if (type == S_IFDIR)
        return cJSON_IsArray(data) ? 0 : fail(ld, EINVAL, "a directory needs a list of children");
    if (!cJSON_IsString(data))
        return fail(ld, EINVAL, "field 6 must be a string for mode %o", e->mode);
    if (type == S_IFLNK) {
        e->target = data->valuestring;
        return strlen(e->target) < PATH_CAP ? 0 : fail(ld, EINVAL, "symlink target too long");
    }
    if (type != S_IFREG)
        return fail(ld, EINVAL, "mode %o is not a file, directory or symlink", e->mode);
    struct blob_name_info info;
    if (!blob_name_parse(data->valuestring, &info))
        return fail(ld, EINVAL, "blob name \"%.64s\" is not a safe relative name", data->valuestring);
    e->blob = e->size ? data->valuestring : NULL;   /* an empty file needs no fetch */
    if (!e->blob)
        e->size = 0;
    return 0;
}

static void count(struct loader *ld, uint32_t mode)
{
    struct fsjson_summary *s = ld->sum;
    uint64_t *n = S_ISDIR(mode) ? &s->dirs : S_ISLNK(mode) ? &s->symlinks : &s->files;
    (*n)++;
}

static void note_skipped(struct loader *ld)
{
    if (!ld->sum->skipped++)
        snprintf(ld->sum->first_skipped, sizeof ld->sum->first_skipped, "%.200s", ld->path);
}

static int load_entry(struct loader *ld, struct p9_node *dir, const cJSON *item)
{
    const cJSON *name = cJSON_GetArrayItem(item, F_NAME);
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) < MIN_FIELDS || !cJSON_IsString(name))
        return fail(ld, EINVAL, "not a list of at least %d fields starting with a name", MIN_FIELDS);
    if (!p9_mem_valid_name(name->valuestring))
        return fail(ld, EINVAL, "\"%.64s\" is not a valid file name", name->valuestring);
    if (strlen(ld->path) + 1 + strlen(name->valuestring) >= PATH_CAP)
        return fail(ld, EINVAL, "path too long");
    strcat(strcat(ld->path, "/"), name->valuestring);
    uint64_t size, mtime, mode, uid, gid;
    int err = entry_number(ld, item, F_SIZE, 0, "size", &size);
    if (!err) err = entry_number(ld, item, F_MTIME, 0, "mtime", &mtime);
    if (!err) err = entry_number(ld, item, F_MODE, 0xFFFF, "mode", &mode);
    if (!err) err = entry_number(ld, item, F_UID, 0xFFFFFFFFu, "uid", &uid);
    if (!err) err = entry_number(ld, item, F_GID, 0xFFFFFFFFu, "gid", &gid);
    if (err)
        return err;
    const cJSON *data = cJSON_GetArrayItem(item, F_DATA);
    if (!data || cJSON_IsNull(data)) {
        note_skipped(ld);
        return 0;
    }
    struct p9_mem_entry e = { .mode = (uint32_t)mode, .uid = (uint32_t)uid, .gid = (uint32_t)gid,
                              .mtime_sec = mtime, .size = size };
    if ((err = entry_data(ld, data, &e)))
        return err;
    struct p9_node *node;
    err = p9_mem_add(ld->tree, dir, name->valuestring, &e, &node);
    if (err)
        return err == EEXIST ? fail(ld, EINVAL, "the name appears twice")
                             : fail(ld, err, "%s", strerror(err));
    count(ld, e.mode);
    if (S_ISDIR(e.mode))
        err = load_dir(ld, node, data);
    ld->tree->ops->release(ld->tree->be, node);
    return err;
}

static int load_dir(struct loader *ld, struct p9_node *dir, const cJSON *entries)
{
    size_t path_len = strlen(ld->path);
    for (const cJSON *item = entries->child; item; item = item->next) {
        int err = load_entry(ld, dir, item);
        if (err)
            return err;
        ld->path[path_len] = '\0';
    }
    return 0;
}

/* Where parsing stopped, as a byte offset, for "not valid JSON" lines. */
static size_t parse_offset(const char *text, size_t len, const char *end)
{
    return end && end >= text && end <= text + len ? (size_t)(end - text) : len;
}

int fsjson_load(struct p9_backend *tree, const char *text, size_t len, const char *source,
                struct fsjson_summary *summary, char *err, size_t err_size)
{
    *summary = (struct fsjson_summary){ 0 };
    struct loader ld = { .tree = tree, .source = source, .sum = summary, .err = err,
                         .err_size = err_size };
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root)
        return fail(&ld, EINVAL, "not valid JSON (truncated or malformed) at byte %zu of %zu",
                    parse_offset(text, len, end), len);
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *fsroot = cJSON_GetObjectItemCaseSensitive(root, "fsroot");
    uint64_t v = 0;
    int rc = 0;
    if (!cJSON_IsObject(root) || !version)
        rc = fail(&ld, EINVAL, "no \"version\": not a v86 fs.json");
    else if (!cJSON_IsNumber(version))
        rc = fail(&ld, EINVAL, "\"version\" is not a number");
    else if (!get_uint(version, 0, &v) || v != FSJSON_VERSION)
        rc = fail(&ld, EINVAL, "format version %g; plan86 reads version %d (remake it with plan86-fs2json)",
                  version->valuedouble, FSJSON_VERSION);
    else if (!cJSON_IsArray(fsroot))
        rc = fail(&ld, EINVAL, "\"fsroot\" is missing or not a list");
    else
        rc = load_dir(&ld, NULL, fsroot);
    if (!rc)
        get_uint(cJSON_GetObjectItemCaseSensitive(root, "size"), 0, &summary->declared_size);
    cJSON_Delete(root);
    return rc;
}
