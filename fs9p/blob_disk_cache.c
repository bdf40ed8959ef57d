/* fs9p/blob_disk_cache.c — the blob cache folder (see blob_disk_cache.h). */
#include "fs9p/blob_disk_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool blob_disk_cache_open(const char *dir, char *err, size_t err_size)
{
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "fs-json: cache dir %s: %s", dir, strerror(errno));
        return false;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "fs-json: cache dir %s: not a directory", dir);
        return false;
    }
    return true;
}

bool blob_disk_cache_applies(const struct blob_name_info *info)
{
    return info->hash_hex_len != 0;
}

/* dir + "/" + leaf, malloc'd. */
static char *join(const char *dir, const char *leaf)
{
    size_t len = strlen(dir) + 1 + strlen(leaf) + 1;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s/%s", dir, leaf);
    return out;
}

char *blob_disk_cache_path(const char *dir, const char *name)
{
    char *path = join(dir, name);
    if (path)
        for (char *p = path + strlen(dir) + 1; *p; p++)
            if (*p == '/')
                *p = '%';
    return path;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Fills a new file made from the mkstemp template `tmp`. 0 or an errno
 * (and then no file is left). */
static int write_new_file(char *tmp, const uint8_t *data, size_t len)
{
    int fd = mkstemp(tmp);
    if (fd < 0)
        return errno;
    int err = write_all(fd, data, len) ? 0 : errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (err)
        unlink(tmp);
    return err;
}

int blob_disk_cache_put(const char *dir, const char *name, const uint8_t *raw, size_t len)
{
    char *path = blob_disk_cache_path(dir, name);
    char *tmp = join(dir, ".tmp-XXXXXX");
    int err = path && tmp ? write_new_file(tmp, raw, len) : ENOMEM;
    if (!err && rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
    }
    free(path);
    free(tmp);
    return err;
}
