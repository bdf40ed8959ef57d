/* fs9p/blob_disk_cache.h — checked blobs kept in a folder between runs.
 *
 * Promises: a blob is stored under its own name in the folder ('/' in a name
 * spelt '%', which no name holds), written to a temporary file and renamed,
 * so a reader never sees half of one. Only names that carry a hash are kept:
 * an opaque name could mean other contents in another image, while a hashed
 * one is checked again (blob_check.h) whenever it is read back. Any thread
 * may call these.
 */
#ifndef PLAN86_FS9P_BLOB_DISK_CACHE_H
#define PLAN86_FS9P_BLOB_DISK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs9p/blob_name.h"

/* Makes the folder if it is missing. False with one line in err. */
bool blob_disk_cache_open(const char *dir, char *err, size_t err_size);
/* May a blob with this name be kept? */
bool blob_disk_cache_applies(const struct blob_name_info *info);
/* Where blob `name` lives in dir (malloc'd), or NULL when out of memory. */
char *blob_disk_cache_path(const char *dir, const char *name);
/* Keeps `len` bytes (the blob as it was downloaded) under `name`. 0 or an errno. */
int blob_disk_cache_put(const char *dir, const char *name, const uint8_t *raw, size_t len);

#endif
