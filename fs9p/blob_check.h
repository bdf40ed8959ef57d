/* fs9p/blob_check.h — is what arrived the blob its name promises?
 *
 * Promises: a download (or a cached copy) of a blob is accepted only as
 * exactly the index's size of bytes, decompressed first when the name ends
 * in ".zst" (to exactly that size: more or fewer is corruption), whose
 * SHA-256 matches the hash in the name (blob_name.h). Any thread may call
 * these; they keep no state.
 */
#ifndef PLAN86_FS9P_BLOB_CHECK_H
#define PLAN86_FS9P_BLOB_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "fs9p/blob_name.h"

/* The most bytes a download of a blob of `size` bytes may hold. */
size_t blob_raw_bound(const struct blob_name_info *info, uint64_t size);

/* The blob in `raw` (raw_len bytes as it arrived), checked. Returns raw
 * itself (uncompressed names) or a new malloc'd buffer, or NULL with the
 * reason in why (e.g. "corrupt (SHA-256 does not match its name)"). */
uint8_t *blob_unpack(const struct blob_name_info *info, uint64_t size, uint8_t *raw,
                     size_t raw_len, char *why, size_t cap);

#endif
