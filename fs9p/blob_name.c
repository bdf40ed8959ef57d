/* fs9p/blob_name.c — v86 blob names (see blob_name.h). */
#include "fs9p/blob_name.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static bool is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* No way out of the blob directory and nothing a URL would need escaped. */
static bool is_safe_relative(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > BLOB_NAME_MAX || name[0] == '/')
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || c == '\\' || c == '?' || c == '#' || c == '%')
            return false;
    }
    for (const char *seg = name; seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg = seg[n] ? seg + n + 1 : NULL;
    }
    return true;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool blob_name_parse(const char *name, struct blob_name_info *out)
{
    *out = (struct blob_name_info){ 0 };
    if (!is_safe_relative(name))
        return false;
    size_t len = strlen(name);
    out->compressed = ends_with(name, len, ".zst");
    size_t stem = len;
    if (ends_with(name, len, ".bin.zst"))
        stem = len - 8;
    else if (ends_with(name, len, ".bin"))
        stem = len - 4;
    bool short_hash = stem == BLOB_SHORT_HASH_HEX && stem != len;
    bool full_hash = stem == BLOB_FULL_HASH_HEX;
    if ((short_hash || full_hash) && is_lower_hex(name, stem)) {
        memcpy(out->hash_hex, name, stem);
        out->hash_hex[stem] = '\0';
        out->hash_hex_len = stem;
    }
    return true;
}

bool blob_sha256(const void *data, size_t len, uint8_t digest[32])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

static void to_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

void blob_name_for(const uint8_t digest[32], bool compressed, char *out, size_t cap)
{
    char hex[BLOB_SHORT_HASH_HEX + 1];
    to_hex(digest, BLOB_SHORT_HASH_HEX / 2, hex);
    snprintf(out, cap, "%s%s", hex, compressed ? ".bin.zst" : ".bin");
}

bool blob_name_matches(const struct blob_name_info *info, const uint8_t digest[32])
{
    char hex[BLOB_FULL_HASH_HEX + 1];
    to_hex(digest, 32, hex);
    return memcmp(hex, info->hash_hex, info->hash_hex_len) == 0;
}
