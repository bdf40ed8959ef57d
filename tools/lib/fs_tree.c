/* tools/lib/fs_tree.c — the tree, path rules, content hashing and the blob
 * name check shared by the directory and tar readers (see fs_tree.h). */
#include "tools/lib/fs_tree_priv.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/blob_name.h"

bool fs_fail(struct fs_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    for (char *p = e->msg; *p; p++)   /* names are hostile: keep it one line */
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = '?';
    return false;
}

/* ---- the tree ---- */

/* Index of name in dir's sorted children, or where it would go. */
static size_t child_slot(const struct fs_node *dir, const char *name, bool *found)
{
    size_t lo = 0, hi = dir->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dir->kids[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool grow_kids(struct fs_node *dir)
{
    if (dir->nkids < dir->cap)
        return true;
    size_t cap = dir->cap ? dir->cap * 2 : 8;
    struct fs_node *kids = realloc(dir->kids, cap * sizeof *kids);
    if (!kids)
        return false;
    dir->kids = kids;
    dir->cap = cap;
    return true;
}

struct fs_node *fs_node_child(struct fs_node *dir, const char *name, struct fs_err *e)
{
    bool found;
    size_t at = child_slot(dir, name, &found);
    if (found)
        return &dir->kids[at];
    char *copy = strdup(name);
    if (!copy || !grow_kids(dir)) {
        free(copy);
        fs_fail(e, "out of memory");
        return NULL;
    }
    memmove(&dir->kids[at + 1], &dir->kids[at], (dir->nkids - at) * sizeof *dir->kids);
    dir->kids[at] = (struct fs_node){ .name = copy };
    dir->nkids++;
    return &dir->kids[at];
}

struct fs_node *fs_node_lookup(struct fs_node *root, const char *rel)
{
    struct fs_node *cur = root;
    while (*rel && cur) {
        size_t n = strcspn(rel, "/");
        char name[FS_PATH_MAX];
        if (n >= sizeof name || !fs_node_is(cur, S_IFDIR))
            return NULL;
        memcpy(name, rel, n);
        name[n] = '\0';
        bool found;
        size_t at = child_slot(cur, name, &found);
        cur = found ? &cur->kids[at] : NULL;
        rel += n + (rel[n] == '/');
    }
    return cur;
}

void fs_node_clear(struct fs_node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        fs_node_clear(&n->kids[i]);
        free(n->kids[i].name);
    }
    free(n->kids);
    free(n->target);
    n->kids = NULL;
    n->nkids = n->cap = 0;
    n->target = NULL;
}

void fs_tree_free(struct fs_node *root)
{
    fs_node_clear(root);
    free(root->name);
    *root = (struct fs_node){ 0 };
}

/* ---- paths ---- */

bool fs_path_normalise(const char *in, char *out, size_t cap, struct fs_err *e)
{
    size_t len = 0;
    for (const char *p = in; *p;) {
        size_t n = strcspn(p, "/");
        bool skip = n == 0 || (n == 1 && p[0] == '.');
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return fs_fail(e, "%s: path has a \"..\" component", in);
        if (!skip) {
            if (len + (len > 0) + n >= cap)
                return fs_fail(e, "%.64s...: path longer than %zu bytes", in, cap - 1);
            if (len > 0)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n + (p[n] == '/');
    }
    out[len] = '\0';
    return true;
}

bool fs_reader_excluded(const struct fs_reader *r, const char *rel)
{
    for (size_t i = 0; i < r->nexcludes; i++) {
        size_t n = strlen(r->excludes[i]);
        if (strncmp(rel, r->excludes[i], n) == 0 && (rel[n] == '\0' || rel[n] == '/'))
            return true;
    }
    return false;
}

/* ---- contents ---- */

bool fs_content_begin(struct fs_reader *r, struct fs_content *c)
{
    *c = (struct fs_content){ 0 };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return fs_fail(r->err, "%s: cannot start SHA-256 (libcrypto)", r->path);
    }
    c->md = md;
    if (r->sink && !r->sink->begin(r->sink->ctx, r->err)) {
        fs_content_abandon(r, c);
        return false;
    }
    c->sink_open = r->sink != NULL;
    return true;
}

bool fs_content_feed(struct fs_reader *r, struct fs_content *c, const void *data, size_t len)
{
    if (EVP_DigestUpdate(c->md, data, len) != 1)
        return fs_fail(r->err, "%s: SHA-256 failed (libcrypto)", r->path);
    c->seen += len;
    return !c->sink_open || r->sink->data(r->sink->ctx, data, len, r->err);
}

bool fs_content_end(struct fs_reader *r, struct fs_content *c, struct fs_node *file)
{
    unsigned int n = 0;
    bool ok = EVP_DigestFinal_ex(c->md, file->digest, &n) == 1 && n == 32;
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    if (!ok)
        fs_fail(r->err, "%s: SHA-256 failed (libcrypto)", r->path);
    else if (c->seen != file->size)
        ok = fs_fail(r->err, "%s: read %llu bytes, expected %llu (changed while being read?)",
                     r->path, (unsigned long long)c->seen, (unsigned long long)file->size);
    if (c->sink_open) {
        c->sink_open = false;
        struct fs_err ignored;
        if (!r->sink->end(r->sink->ctx, ok ? file : NULL, ok ? r->err : &ignored))
            ok = false;
    }
    return ok;
}

void fs_content_abandon(struct fs_reader *r, struct fs_content *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    if (c->sink_open) {
        struct fs_err ignored;
        r->sink->end(r->sink->ctx, NULL, &ignored);
        c->sink_open = false;
    }
}

bool fs_content_read(struct fs_reader *r, fs_pull_fn pull, void *src, struct fs_node *file)
{
    struct fs_content c;
    if (!fs_content_begin(r, &c))
        return false;
    for (;;) {
        long got = pull(r, src, r->buf, FS_READ_CHUNK);
        if (got < 0)
            break;
        if (got == 0)
            return fs_content_end(r, &c, file);
        if (!fs_content_feed(r, &c, r->buf, (size_t)got))
            break;
    }
    fs_content_abandon(r, &c);
    return false;
}

/* ---- reading ---- */

static void free_excludes(struct fs_reader *r)
{
    for (size_t i = 0; i < r->nexcludes; i++)
        free(r->excludes[i]);
    free(r->excludes);
}

static bool set_excludes(struct fs_reader *r, const struct fs_tree_opts *opts)
{
    r->excludes = calloc(opts->nexcludes ? opts->nexcludes : 1, sizeof *r->excludes);
    if (!r->excludes)
        return fs_fail(r->err, "out of memory");
    for (size_t i = 0; i < opts->nexcludes; i++) {
        char norm[FS_PATH_MAX];
        if (!fs_path_normalise(opts->excludes[i], norm, sizeof norm, r->err))
            return false;
        if (!norm[0])
            return fs_fail(r->err, "--exclude %s: would exclude everything", opts->excludes[i]);
        if (!(r->excludes[r->nexcludes] = strdup(norm)))
            return fs_fail(r->err, "out of memory");
        r->nexcludes++;
    }
    return true;
}

bool fs_tree_read(const char *input, const struct fs_tree_opts *opts, struct fs_node *root,
                  struct fs_err *e)
{
    *root = (struct fs_node){ .mode = S_IFDIR | 0755 };
    struct fs_reader r = { .sink = opts->sink, .input = input, .err = e };
    struct stat st;
    bool ok = set_excludes(&r, opts);
    if (ok && !(r.buf = malloc(FS_READ_CHUNK)))
        ok = fs_fail(e, "out of memory");
    if (ok && stat(input, &st) != 0)
        ok = fs_fail(e, "%s: %s", input, strerror(errno));
    if (ok)
        ok = S_ISDIR(st.st_mode) ? fs_read_dir(&r, input, root) : fs_read_tar(&r, input, root);
    free(r.buf);
    free_excludes(&r);
    if (!ok)
        fs_tree_free(root);
    return ok;
}

/* ---- blob names ---- */

struct named_digest {
    const uint8_t *digest;
    char *path;
};

struct digest_list {
    struct named_digest *items;
    size_t n, cap;
};

static bool collect_digests(const struct fs_node *dir, char *path, size_t len,
                            struct digest_list *list)
{
    for (size_t i = 0; i < dir->nkids; i++) {
        const struct fs_node *k = &dir->kids[i];
        int n = snprintf(path + len, FS_PATH_MAX - len, "%s%s", len ? "/" : "", k->name);
        if (n < 0 || (size_t)n >= FS_PATH_MAX - len)
            return false;
        if (fs_node_is(k, S_IFDIR) && !collect_digests(k, path, len + (size_t)n, list))
            return false;
        if (!fs_node_is(k, S_IFREG))
            continue;
        if (list->n == list->cap) {
            size_t cap = list->cap ? list->cap * 2 : 64;
            struct named_digest *items = realloc(list->items, cap * sizeof *items);
            if (!items)
                return false;
            list->items = items;
            list->cap = cap;
        }
        if (!(list->items[list->n].path = strdup(path)))
            return false;
        list->items[list->n++].digest = k->digest;
    }
    path[len] = '\0';
    return true;
}

static int by_digest(const void *a, const void *b)
{
    return memcmp(((const struct named_digest *)a)->digest,
                  ((const struct named_digest *)b)->digest, 32);
}

/* Sorted by full digest, equal prefixes are neighbours. */
static bool find_prefix_clash(const struct digest_list *list, struct fs_err *e)
{
    for (size_t i = 1; i < list->n; i++) {
        const struct named_digest *a = &list->items[i - 1], *b = &list->items[i];
        if (memcmp(a->digest, b->digest, BLOB_SHORT_HASH_HEX / 2) == 0 &&
            memcmp(a->digest, b->digest, 32) != 0) {
            char name[32];
            blob_name_for(a->digest, false, name, sizeof name);
            return fs_fail(e, "%s and %s: different contents with the same blob name %s "
                           "(SHA-256 prefix collision); change one of them", a->path, b->path,
                           name);
        }
    }
    return true;
}

bool fs_tree_check_blob_names(const struct fs_node *root, struct fs_err *e)
{
    struct digest_list list = { 0 };
    char path[FS_PATH_MAX] = "";
    bool ok = collect_digests(root, path, 0, &list);   /* the tree's paths fit */
    if (!ok)
        fs_fail(e, "out of memory");
    if (ok && list.n > 1) {
        qsort(list.items, list.n, sizeof *list.items, by_digest);
        ok = find_prefix_clash(&list, e);
    }
    for (size_t i = 0; i < list.n; i++)
        free(list.items[i].path);
    free(list.items);
    return ok;
}
