/* fs9p/blob_check.c — checking what arrived for a blob (see blob_check.h). */
#include "fs9p/blob_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* zstd output of any encoder is at most ZSTD_compressBound(size) = size +
 * size/256 + < 64 KiB per frame; size/8 + 64 KiB leaves room for many small
 * frames and skippable frames while still bounding what a hostile server
 * can make us hold. */
size_t blob_raw_bound(const struct blob_name_info *info, uint64_t size)
{
    return info->compressed ? (size_t)(size + size / 8 + 64 * 1024) : (size_t)size;
}

static uint8_t *decompress_exactly(const uint8_t *src, size_t len, uint64_t size, char *why,
                                   size_t cap)
{
    uint8_t *out = malloc((size_t)size + 1);
    if (!out) {
        snprintf(why, cap, "out of memory for %llu bytes", (unsigned long long)size);
        return NULL;
    }
    size_t n = ZSTD_decompress(out, (size_t)size, src, len);
    if (!ZSTD_isError(n) && n == size)
        return out;
    if (!ZSTD_isError(n))
        snprintf(why, cap, "corrupt (decompresses to %zu bytes, not %llu)", n,
                 (unsigned long long)size);
    else if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
        snprintf(why, cap, "corrupt (decompresses to more than %llu bytes)",
                 (unsigned long long)size);
    else
        snprintf(why, cap, "corrupt (zstd: %s)", ZSTD_getErrorName(n));
    free(out);
    return NULL;
}

uint8_t *blob_unpack(const struct blob_name_info *info, uint64_t size, uint8_t *raw,
                     size_t raw_len, char *why, size_t cap)
{
    uint8_t *blob = raw;
    if (info->compressed) {
        blob = decompress_exactly(raw, raw_len, size, why, cap);
        if (!blob)
            return NULL;
    } else if (raw_len != size) {
        snprintf(why, cap, "size mismatch (%zu bytes, the index says %llu)", raw_len,
                 (unsigned long long)size);
        return NULL;
    }
    uint8_t digest[32];
    if (!blob_sha256(blob, (size_t)size, digest) || !blob_name_matches(info, digest)) {
        snprintf(why, cap, "corrupt (SHA-256 does not match its name)");
        if (blob != raw)
            free(blob);
        return NULL;
    }
    return blob;
}
