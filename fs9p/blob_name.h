/* fs9p/blob_name.h — names of v86 fs.json blobs, and what a name promises.
 *
 * Promises: one place that knows the v86 storage naming. A blob is named by
 * the SHA-256 of the file's (uncompressed) contents: the first 8 hex digits
 * plus ".bin", or ".bin.zst" for zstd-compressed content (v86's fs2json and
 * copy-to-sha256 since 2021), or all 64 hex digits and no extension (older
 * images). A name is otherwise opaque: one that fits none of these is still
 * fetched, only not verified. Names that could leave the blob directory
 * (absolute, "..", backslashes, control bytes) are refused.
 */
#ifndef PLAN86_FS9P_BLOB_NAME_H
#define PLAN86_FS9P_BLOB_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_SHORT_HASH_HEX 8
#define BLOB_FULL_HASH_HEX 64
#define BLOB_NAME_MAX 255

/* What a name says about its blob. */
struct blob_name_info {
    bool compressed;                        /* ends in ".zst": zstd content */
    size_t hash_hex_len;                    /* 0 (opaque), 8 or 64 */
    char hash_hex[BLOB_FULL_HASH_HEX + 1];  /* lower case, NUL-terminated */
};

/* Checks that `name` is safe to append to a base URL or directory and says
 * what it promises. False for names that must not be fetched. */
bool blob_name_parse(const char *name, struct blob_name_info *out);

/* The SHA-256 of `len` bytes. Returns false only if libcrypto fails. */
bool blob_sha256(const void *data, size_t len, uint8_t digest[32]);

/* The v86 name for contents with this digest: "xxxxxxxx.bin" or
 * "xxxxxxxx.bin.zst". `out` holds at least 17 bytes. */
void blob_name_for(const uint8_t digest[32], bool compressed, char *out, size_t cap);

/* Does the digest match what the name promises? Always true for opaque names. */
bool blob_name_matches(const struct blob_name_info *info, const uint8_t digest[32]);

#endif
