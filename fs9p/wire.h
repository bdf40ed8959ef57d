/* fs9p/wire.h — the 9P2000.L wire codec.
 *
 * Promises: every 9P2000.L message (T and R) decodes from and encodes to
 * its little-endian frame through one table of field layouts, so a message's
 * layout is written once. Decoding never reads past the frame and rejects
 * truncated frames, trailing bytes, bad counts and unknown types with a
 * positive errno (EPROTO, EINVAL, EOPNOTSUPP); strings and data stay
 * pointers into the frame (no copies, not NUL-terminated). Encoding never
 * writes past the buffer and reports when a message does not fit. All
 * 64-bit fields stay 64-bit.
 */
#ifndef PLAN86_FS9P_WIRE_H
#define PLAN86_FS9P_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Message types (T = request, R = reply = T + 1). */
enum p9_type {
    P9_TLERROR = 6, P9_RLERROR,
    P9_TSTATFS = 8, P9_RSTATFS,
    P9_TLOPEN = 12, P9_RLOPEN,
    P9_TLCREATE = 14, P9_RLCREATE,
    P9_TSYMLINK = 16, P9_RSYMLINK,
    P9_TMKNOD = 18, P9_RMKNOD,
    P9_TRENAME = 20, P9_RRENAME,
    P9_TREADLINK = 22, P9_RREADLINK,
    P9_TGETATTR = 24, P9_RGETATTR,
    P9_TSETATTR = 26, P9_RSETATTR,
    P9_TXATTRWALK = 30, P9_RXATTRWALK,
    P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
    P9_TREADDIR = 40, P9_RREADDIR,
    P9_TFSYNC = 50, P9_RFSYNC,
    P9_TLOCK = 52, P9_RLOCK,
    P9_TGETLOCK = 54, P9_RGETLOCK,
    P9_TLINK = 70, P9_RLINK,
    P9_TMKDIR = 72, P9_RMKDIR,
    P9_TRENAMEAT = 74, P9_RRENAMEAT,
    P9_TUNLINKAT = 76, P9_RUNLINKAT,
    P9_TVERSION = 100, P9_RVERSION,
    P9_TAUTH = 102, P9_RAUTH,
    P9_TATTACH = 104, P9_RATTACH,
    P9_TFLUSH = 108, P9_RFLUSH,
    P9_TWALK = 110, P9_RWALK,
    P9_TREAD = 116, P9_RREAD,
    P9_TWRITE = 118, P9_RWRITE,
    P9_TCLUNK = 120, P9_RCLUNK,
    P9_TREMOVE = 122, P9_RREMOVE,
};

#define P9_HEADER_SIZE 7u          /* size[4] type[1] tag[2] */
#define P9_NOTAG 0xFFFFu
#define P9_NOFID 0xFFFFFFFFu
#define P9_MAX_WELEM 16            /* names in one Twalk, qids in one Rwalk */
#define P9_MAX_FIELDS 24           /* the widest message is Rgetattr */
#define P9_IOHDR_SIZE 24u          /* overhead of Twrite/Rread over their data */

/* Qid type bits. */
enum { P9_QTDIR = 0x80, P9_QTAPPEND = 0x40, P9_QTEXCL = 0x20, P9_QTSYMLINK = 0x02, P9_QTFILE = 0 };

struct p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* A byte string inside a frame: a 9p string (u16 length) or data (u32). */
struct p9_bytes {
    const uint8_t *ptr;
    uint32_t len;
};

/* One field value: `num` for integers, `str` for strings and data, `qid`
 * for qids. Which one a field uses comes from the layout table. */
struct p9_value {
    uint64_t num;
    struct p9_bytes str;
    struct p9_qid qid;
};

/* A decoded (or to-be-encoded) message. Twalk's names live in `names`,
 * Rwalk's qids in `qids`, with `count` entries; every other field is in
 * `f` in wire order (the layout string of p9_layout, one code per field). */
struct p9_msg {
    uint8_t type;
    uint16_t tag;
    struct p9_value f[P9_MAX_FIELDS];
    uint16_t count;
    struct p9_bytes names[P9_MAX_WELEM];
    struct p9_qid qids[P9_MAX_WELEM];
};

/* Layout of a message type as a string of field codes (b u8, w u16, d u32,
 * q u64, s string, Q qid, D u32-counted data, N Twalk names, R Rwalk qids),
 * or NULL for a type outside 9P2000.L. */
const char *p9_layout(uint8_t type);

/* Decodes frame[0..len). Returns 0, or EPROTO for a bad size field, a
 * truncated frame or trailing bytes, EINVAL for a bad count, EOPNOTSUPP for
 * an unknown type. On error m->type and m->tag are filled when the header
 * could be read (m->tag is P9_NOTAG otherwise). */
int p9_decode(const uint8_t *frame, size_t len, struct p9_msg *m);

/* Encodes m into buf[0..cap). Returns the frame length, or 0 if it does
 * not fit or m->type is unknown. */
size_t p9_encode(const struct p9_msg *m, uint8_t *buf, size_t cap);

/* Encodes Rlerror(tag, ecode): 11 bytes; 0 if cap is smaller. */
size_t p9_encode_lerror(uint16_t tag, uint32_t ecode, uint8_t *buf, size_t cap);

/* Encoded size of a string field and of one Rreaddir entry. */
static inline size_t p9_string_size(size_t len) { return 2 + len; }
static inline size_t p9_dirent_size(size_t namelen) { return 13 + 8 + 1 + 2 + namelen; }

/* Appends one Rreaddir entry at buf[*pos..cap); returns 0 if it fits. */
int p9_put_dirent(uint8_t *buf, size_t cap, size_t *pos, const struct p9_qid *qid,
                  uint64_t offset, uint8_t type, const char *name, size_t namelen);

/* Little-endian helpers shared with the server. */
static inline void p9_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void p9_put_u32(uint8_t *p, uint32_t v)
{
    p9_put_u16(p, (uint16_t)v);
    p9_put_u16(p + 2, (uint16_t)(v >> 16));
}
static inline void p9_put_u64(uint8_t *p, uint64_t v)
{
    p9_put_u32(p, (uint32_t)v);
    p9_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t p9_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t p9_get_u32(const uint8_t *p)
{
    return p9_get_u16(p) | (uint32_t)p9_get_u16(p + 2) << 16;
}
static inline uint64_t p9_get_u64(const uint8_t *p)
{
    return p9_get_u32(p) | (uint64_t)p9_get_u32(p + 4) << 32;
}

#endif
