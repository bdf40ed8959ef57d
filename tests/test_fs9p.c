/* test_fs9p.c — Check tests for the 9P2000.L codec, server and mem back end.
 *
 * The codec is checked by round trips of every message type and by feeding
 * every prefix of every valid request to the server (each must get an
 * Rlerror, never a crash or silence). The server is driven like a guest
 * client would: frames built from the codec's own layout table, replies
 * decoded, on the `mem` back end — a scripted session, readdir across
 * concurrent unlinks, msize capping, aname subdirectories, uid checks,
 * locks, flush of a request parked on a waiting back end.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs9p/backend_mem.h"
#include "fs9p/locks.h"
#include "fs9p/server.h"
#include "fs9p/wire.h"
#include "p9_client.h"

/* ---- codec ---- */

/* Fills every field of a message of `type` with values that use the whole
 * width of each field. */
static void fill_message(struct p9_msg *m, uint8_t type, uint8_t seed)
{
    static const char text[] = "a string of some length";
    static const uint8_t blob[] = { 0, 1, 2, 0xFF, 0xFE, 7, 9 };
    static const char *const names[] = { "usr", "lib", "x86_64-linux-gnu" };
    memset(m, 0, sizeof *m);
    m->type = type;
    m->tag = (uint16_t)(0xA500 + seed);
    const char *layout = p9_layout(type);
    for (unsigned i = 0; layout[i]; i++) {
        struct p9_value *v = &m->f[i];
        uint64_t big = 0xF1E2D3C4B5A69788ull ^ ((uint64_t)(i + seed) * 0x0101010101010101ull);
        switch (layout[i]) {
        case 'b': v->num = big & 0xFF; break;
        case 'w': v->num = big & 0xFFFF; break;
        case 'd': v->num = big & 0xFFFFFFFF; break;
        case 'q': v->num = big; break;
        case 's': /* odd fields get the empty string */
            v->str = (struct p9_bytes){ (const uint8_t *)text, i % 2 ? 0 : sizeof text - 1 };
            break;
        case 'D': v->str = (struct p9_bytes){ blob, sizeof blob }; break;
        case 'Q': v->qid = (struct p9_qid){ P9_QTDIR, 0x89ABCDEFu, big }; break;
        case 'N':
            m->count = 3;
            for (unsigned k = 0; k < 3; k++)
                m->names[k] = (struct p9_bytes){ (const uint8_t *)names[k],
                                                 (uint32_t)strlen(names[k]) };
            break;
        case 'R':
            m->count = 2;
            m->qids[0] = (struct p9_qid){ P9_QTFILE, 1, 1ull << 40 };
            m->qids[1] = (struct p9_qid){ P9_QTSYMLINK, 2, UINT64_MAX };
            break;
        }
    }
}

static void assert_same_bytes(struct p9_bytes a, struct p9_bytes b)
{
    ck_assert_uint_eq(a.len, b.len);
    if (a.len)
        ck_assert_mem_eq(a.ptr, b.ptr, a.len);
}

static void assert_same_qid(const struct p9_qid *a, const struct p9_qid *b)
{
    ck_assert_uint_eq(a->type, b->type);
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_uint_eq(a->path, b->path);
}

static void assert_same_message(const struct p9_msg *a, const struct p9_msg *b)
{
    ck_assert_uint_eq(a->type, b->type);
    ck_assert_uint_eq(a->tag, b->tag);
    const char *layout = p9_layout(a->type);
    for (unsigned i = 0; layout[i]; i++) {
        char code = layout[i];
        if (strchr("bwdq", code))
            ck_assert_uint_eq(a->f[i].num, b->f[i].num);
        else if (code == 's' || code == 'D')
            assert_same_bytes(a->f[i].str, b->f[i].str);
        else if (code == 'Q')
            assert_same_qid(&a->f[i].qid, &b->f[i].qid);
    }
    if (strchr(layout, 'N') || strchr(layout, 'R')) {
        ck_assert_uint_eq(a->count, b->count);
        for (unsigned k = 0; k < a->count; k++) {
            if (strchr(layout, 'N'))
                assert_same_bytes(a->names[k], b->names[k]);
            else
                assert_same_qid(&a->qids[k], &b->qids[k]);
        }
    }
}

START_TEST(every_message_round_trips)
{
    static const uint8_t every_t[] = {
        P9_TSTATFS, P9_TLOPEN, P9_TLCREATE, P9_TSYMLINK, P9_TMKNOD, P9_TRENAME, P9_TREADLINK,
        P9_TGETATTR, P9_TSETATTR, P9_TXATTRWALK, P9_TXATTRCREATE, P9_TREADDIR, P9_TFSYNC,
        P9_TLOCK, P9_TGETLOCK, P9_TLINK, P9_TMKDIR, P9_TRENAMEAT, P9_TUNLINKAT, P9_TVERSION,
        P9_TAUTH, P9_TATTACH, P9_TFLUSH, P9_TWALK, P9_TREAD, P9_TWRITE, P9_TCLUNK, P9_TREMOVE,
    };
    uint8_t buf[1024];
    int checked = 0;
    for (size_t i = 0; i < sizeof every_t; i++) {
        for (uint8_t type = every_t[i]; type <= every_t[i] + 1; type++) {
            struct p9_msg m, back;
            fill_message(&m, type, (uint8_t)i);
            size_t n = p9_encode(&m, buf, sizeof buf);
            ck_assert_msg(n > 0, "type %u does not encode", type);
            ck_assert_uint_eq(p9_get_u32(buf), n);
            ck_assert_int_eq(p9_decode(buf, n, &back), 0);
            assert_same_message(&m, &back);
            /* Too small a buffer: refused, never overrun. */
            ck_assert_uint_eq(p9_encode(&m, buf, n - 1), 0);
            checked++;
        }
    }
    ck_assert_int_eq(checked, 56);
    struct p9_msg m;
    fill_message(&m, P9_RLERROR, 1);
    size_t n = p9_encode(&m, buf, sizeof buf);
    ck_assert_uint_eq(n, 11);
}
END_TEST

START_TEST(sixty_four_bit_fields_stay_sixty_four_bit)
{
    uint8_t buf[256];
    struct p9_msg m = { .type = P9_TREAD, .tag = 7 }, back;
    m.f[0].num = 1;
    m.f[1].num = 0x0000000140000000ull;   /* 5 GiB */
    m.f[2].num = 4096;
    size_t n = p9_encode(&m, buf, sizeof buf);
    ck_assert_int_eq(p9_decode(buf, n, &back), 0);
    ck_assert_uint_eq(back.f[1].num, 0x0000000140000000ull);
}
END_TEST

START_TEST(decoder_rejects_bad_frames)
{
    uint8_t buf[256];
    struct p9_msg m, back;
    fill_message(&m, P9_TWALK, 0);
    size_t n = p9_encode(&m, buf, sizeof buf);
    /* Trailing bytes inside the size. */
    buf[n] = 0;
    p9_put_u32(buf, (uint32_t)n + 1);
    ck_assert_int_eq(p9_decode(buf, n + 1, &back), EPROTO);
    /* A size field larger than the frame. */
    p9_put_u32(buf, (uint32_t)n + 100);
    ck_assert_int_eq(p9_decode(buf, n, &back), EPROTO);
    /* Seventeen walk names. */
    p9_put_u32(buf, (uint32_t)n);
    p9_put_u16(buf + 15, 17);
    ck_assert_int_eq(p9_decode(buf, n, &back), EINVAL);
    /* An unknown type. */
    const uint8_t unknown[] = { 7, 0, 0, 0, 200, 0x34, 0x12 };
    ck_assert_int_eq(p9_decode(unknown, sizeof unknown, &back), EOPNOTSUPP);
    ck_assert_uint_eq(back.tag, 0x1234);
}
END_TEST

START_TEST(every_truncation_gets_rlerror)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    uint8_t buf[1024], reply[256];
    for (unsigned type = 0; type < 256; type++) {
        if (!p9_layout((uint8_t)type))
            continue;
        struct p9_msg m, r;
        fill_message(&m, (uint8_t)type, 3);
        size_t n = p9_encode(&m, buf, sizeof buf);
        for (size_t len = 0; len < n; len++) {
            uint8_t frame[1024];
            memcpy(frame, buf, len);
            for (int fix_size = 0; fix_size < 2; fix_size++) {
                if (fix_size && len >= 4)
                    p9_put_u32(frame, (uint32_t)len);
                size_t rn = p9_server_handle(c->srv, frame, len, reply, sizeof reply);
                ck_assert_int_eq(p9_decode(reply, rn, &r), 0);
                ck_assert_uint_eq(r.type, P9_RLERROR);
                uint64_t e = r.f[0].num;
                ck_assert_msg(e == EPROTO || e == EINVAL, "type %u len %zu: errno %llu", type,
                              len, (unsigned long long)e);
                ck_assert_uint_eq(r.tag, len >= P9_HEADER_SIZE ? m.tag : P9_NOTAG);
            }
        }
    }
    client_free(c);
}
END_TEST

START_TEST(unknown_and_reply_types_get_eopnotsupp)
{
    struct client *c = client_new();
    uint8_t reply[64];
    struct p9_msg r;
    const uint8_t unknown[] = { 7, 0, 0, 0, 250, 9, 0 };
    size_t n = p9_server_handle(c->srv, unknown, sizeof unknown, reply, sizeof reply);
    ck_assert_int_eq(p9_decode(reply, n, &r), 0);
    ck_assert_uint_eq(r.type, P9_RLERROR);
    ck_assert_uint_eq(r.f[0].num, EOPNOTSUPP);
    ck_assert_uint_eq(r.tag, 9);
    ck_assert_int_eq(call(c, P9_RCLUNK), EOPNOTSUPP);
    ck_assert_int_eq(call(c, P9_TXATTRWALK, U(1), U(2), "user.x"), EOPNOTSUPP);
    client_free(c);
}
END_TEST

/* ---- the scripted session ---- */

START_TEST(scripted_session_on_mem)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    ck_assert_uint_eq(c->r.f[0].qid.type, P9_QTDIR);
    /* create, write, read */
    OK(call(c, P9_TWALK, U(1), U(2), ""));
    OK(call(c, P9_TLCREATE, U(2), "hello.txt", U(P9_DOTL_RDWR), U(0640), U(50)));
    ck_assert_uint_eq(c->r.f[0].qid.type, P9_QTFILE);
    uint64_t ino = c->r.f[0].qid.path;
    write_all(c, 2, 0, "hello, world");
    expect_read(c, 2, 7, 100, "world", 5);
    expect_read(c, 2, 12, 100, "", 0);
    struct p9_attr a = getattr(c, 2);
    ck_assert_uint_eq(a.size, 12);
    ck_assert_uint_eq(a.mode, S_IFREG | 0640);
    ck_assert_uint_eq(a.gid, 50);
    ck_assert_uint_eq(a.ino, ino);
    OK(call(c, P9_TFSYNC, U(2), U(0)));
    OK(call(c, P9_TCLUNK, U(2)));
    ck_assert_int_eq(call(c, P9_TCLUNK, U(2)), EBADF);
    /* the qid path is stable across walks */
    OK(call(c, P9_TWALK, U(1), U(3), "hello.txt"));
    ck_assert_uint_eq(c->r.count, 1);
    ck_assert_uint_eq(c->r.qids[0].path, ino);
    /* sparse data far beyond 4 GiB */
    OK(call(c, P9_TLOPEN, U(3), U(P9_DOTL_RDWR)));
    write_all(c, 3, 5ull << 30, "far");
    expect_read(c, 3, (5ull << 30) - 2, 5, "\0\0far", 5);
    a = getattr(c, 3);
    ck_assert_uint_eq(a.size, (5ull << 30) + 3);
    ck_assert_uint_le(a.blocks, 2 * 128);   /* two 64 KiB chunks at most */
    OK(call(c, P9_TCLUNK, U(3)));
    /* mkdir, symlink, readlink, mknod, link */
    OK(call(c, P9_TMKDIR, U(1), "dir", U(0755), U(0)));
    ck_assert_uint_eq(c->r.f[0].qid.type, P9_QTDIR);
    OK(call(c, P9_TSYMLINK, U(1), "sym", "hello.txt", U(0)));
    ck_assert_uint_eq(c->r.f[0].qid.type, P9_QTSYMLINK);
    OK(call(c, P9_TWALK, U(1), U(4), "sym"));
    OK(call(c, P9_TREADLINK, U(4)));
    assert_same_bytes(c->r.f[0].str, (struct p9_bytes){ (const uint8_t *)"hello.txt", 9 });
    OK(call(c, P9_TMKNOD, U(1), "null", U(S_IFCHR | 0666), U(1), U(3), U(0)));
    OK(call(c, P9_TWALK, U(1), U(5), "null"));
    a = getattr(c, 5);
    ck_assert_uint_eq(a.mode, S_IFCHR | 0666);
    ck_assert_uint_eq(a.rdev, (1ull << 32) | 3);
    OK(call(c, P9_TWALK, U(1), U(6), "hello.txt"));
    OK(call(c, P9_TLINK, U(1), U(6), "hard"));
    ck_assert_uint_eq(getattr(c, 6).nlink, 2);
    ck_assert_int_eq(call(c, P9_TLINK, U(1), U(6), "hard"), EEXIST);
    /* rename over an existing name, renameat, remove */
    OK(call(c, P9_TRENAMEAT, U(1), "hard", U(1), "dir2"));
    OK(call(c, P9_TRENAME, U(6), U(1), "renamed.txt"));
    ck_assert_int_eq(call(c, P9_TWALK, U(1), U(7), "hello.txt"), ENOENT);
    OK(call(c, P9_TWALK, U(1), U(7), "renamed.txt"));
    ck_assert_uint_eq(c->r.qids[0].path, ino);
    /* Tremove through a fid whose name now leads elsewhere is refused */
    OK(call(c, P9_TWALK, U(1), U(10), "sym"));
    OK(call(c, P9_TRENAMEAT, U(1), "sym", U(1), "sym2"));
    OK(call(c, P9_TSYMLINK, U(1), "sym", "elsewhere", U(0)));
    ck_assert_int_eq(call(c, P9_TREMOVE, U(10)), ESTALE);
    ck_assert_int_eq(call(c, P9_TCLUNK, U(10)), EBADF);
    OK(call(c, P9_TREMOVE, U(7)));
    ck_assert_int_eq(call(c, P9_TGETATTR, U(7), U(0x7FF)), EBADF);
    ck_assert_uint_eq(getattr(c, 6).nlink, 1);   /* "dir2" still names it */
    /* unlinkat of a directory needs the flag */
    ck_assert_int_eq(call(c, P9_TUNLINKAT, U(1), "dir", U(0)), EISDIR);
    OK(call(c, P9_TUNLINKAT, U(1), "dir", U(P9_AT_REMOVEDIR)));
    /* setattr with nanosecond times, truncate, chmod */
    OK(call(c, P9_TSETATTR, U(6), U(P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_ATIME
                                   | P9_SETATTR_MTIME | P9_SETATTR_ATIME_SET
                                   | P9_SETATTR_MTIME_SET),
             U(0600), U(0), U(0), U(4), U(1000), U(999999999), U(2000), U(1)));
    a = getattr(c, 6);
    ck_assert_uint_eq(a.mode, S_IFREG | 0600);
    ck_assert_uint_eq(a.size, 4);
    ck_assert_uint_eq(a.atime.sec, 1000);
    ck_assert_uint_eq(a.atime.nsec, 999999999);
    ck_assert_uint_eq(a.mtime.sec, 2000);
    ck_assert_uint_eq(a.mtime.nsec, 1);
    ck_assert_int_eq(call(c, P9_TSETATTR, U(6), U(P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET),
                          U(0), U(0), U(0), U(0), U(1), U(1000000000), U(0), U(0)), EINVAL);
    /* statfs */
    OK(call(c, P9_TSTATFS, U(1)));
    ck_assert_uint_eq(c->r.f[0].num, 0x01021997);
    ck_assert_uint_gt(c->r.f[2].num, 0);
    /* walk ".." stays at the attach root */
    OK(call(c, P9_TWALK, U(1), U(8), "../.."));
    ck_assert_uint_eq(c->r.qids[1].path, getattr(c, 1).ino);
    /* a partial walk answers the qids it got and makes no fid */
    OK(call(c, P9_TWALK, U(1), U(9), "dir2/nothing"));
    ck_assert_uint_eq(c->r.count, 1);
    ck_assert_int_eq(call(c, P9_TCLUNK, U(9)), EBADF);
    client_free(c);
}
END_TEST

START_TEST(read_write_need_the_right_open_mode)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    OK(p9_mem_create_file(c->mem, "/f", "data", 4));
    OK(call(c, P9_TWALK, U(1), U(2), "f"));
    ck_assert_int_eq(call(c, P9_TREAD, U(2), U(0), U(10)), EBADF);
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY)));
    ck_assert_int_eq(call(c, P9_TWRITE, U(2), U(0), "x", (uint32_t)1), EBADF);
    ck_assert_int_eq(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY)), EINVAL);
    expect_read(c, 2, 0, 10, "data", 4);
    client_free(c);
}
END_TEST

/* ---- readdir ---- */

static void unlink_some(struct client *c, int batch)
{
    if (batch != 0)
        return;
    /* Remove entries on both sides of the listing's position, add new. */
    char name[32];
    for (int i = 0; i < 300; i += 7) {
        snprintf(name, sizeof name, "f%03d", i);
        OK(call(c, P9_TUNLINKAT, U(1), name, U(0)));
    }
    OK(call(c, P9_TMKDIR, U(1), "late", U(0755), U(0)));
}

START_TEST(readdir_survives_concurrent_unlink)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/f%03d", i);
        OK(p9_mem_create_file(c->mem, name, "", 0));
    }
    OK(call(c, P9_TWALK, U(1), U(2), ""));
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY | P9_DOTL_DIRECTORY)));
    static char listing[65536];
    int entries;
    list_dir(c, 2, 1024, listing, sizeof listing, NULL, &entries);
    ck_assert_int_eq(entries, 302);
    ck_assert_ptr_nonnull(strstr(listing, ". .. f000 f001 "));
    list_dir(c, 2, 600, listing, sizeof listing, unlink_some, &entries);
    /* Every survivor exactly once; no removed name after its removal. */
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, " f%03d ", i);
        const char *hit = strstr(listing, name);
        if (i % 7) {
            ck_assert_ptr_nonnull(hit);
            ck_assert_ptr_null(strstr(hit + 1, name));
        }
    }
    ck_assert_ptr_nonnull(strstr(listing, " late "));
    /* A tiny buffer still makes progress, one entry at a time. */
    list_dir(c, 2, 30, listing, sizeof listing, NULL, &entries);
    ck_assert_int_eq(entries, 2 + 300 - 43 + 1);
    client_free(c);
}
END_TEST

/* ---- msize, aname, permissions ---- */

START_TEST(msize_is_capped_by_the_transport)
{
    struct client *c = client_new_capped(8192);
    OK(call(c, P9_TVERSION, U(1u << 20), "9P2000.L"));
    ck_assert_uint_eq(c->r.f[0].num, 8192);
    assert_same_bytes(c->r.f[1].str, (struct p9_bytes){ (const uint8_t *)"9P2000.L", 8 });
    ck_assert_uint_eq(p9_server_msize(c->srv), 8192);
    OK(call(c, P9_TATTACH, U(1), U(P9_NOFID), "", "", U(0)));
    static uint8_t big[100000];
    memset(big, 'z', sizeof big);
    OK(p9_mem_create_file(c->mem, "big", big, sizeof big));
    OK(call(c, P9_TWALK, U(1), U(2), "big"));
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY)));
    ck_assert_uint_eq(c->r.f[1].num, 8192 - P9_IOHDR_SIZE);
    OK(call(c, P9_TREAD, U(2), U(0), U(1u << 20)));
    ck_assert_uint_le(c->reply_len, 8192);
    ck_assert_uint_eq(c->r.f[0].str.len, 8192 - 11);
    /* A smaller msize is taken; an unknown version is answered "unknown". */
    OK(call(c, P9_TVERSION, U(4096), "9P2000.u"));
    ck_assert_uint_eq(c->r.f[0].num, 4096);
    assert_same_bytes(c->r.f[1].str, (struct p9_bytes){ (const uint8_t *)"unknown", 7 });
    /* Tversion reset the session: the old fids are gone. */
    ck_assert_int_eq(call(c, P9_TCLUNK, U(1)), EBADF);
    ck_assert_int_eq(call(c, P9_TVERSION, U(100), "9P2000.L"), EINVAL);
    client_free(c);
}
END_TEST

START_TEST(aname_selects_a_subdirectory)
{
    struct client *c = client_new();
    OK(p9_mem_create_file(c->mem, "/srv/share/inside", "in", 2));
    OK(p9_mem_create_file(c->mem, "/secret", "no", 2));
    session(c, 1, 0, "/srv/share");
    OK(call(c, P9_TWALK, U(1), U(2), "inside"));
    ck_assert_int_eq(call(c, P9_TWALK, U(1), U(3), "../secret"), 0);
    ck_assert_uint_eq(c->r.count, 1);            /* ".." stayed; "secret" is not there */
    ck_assert_int_eq(call(c, P9_TWALK, U(1), U(3), "secret"), ENOENT);
    ck_assert_int_eq(call(c, P9_TATTACH, U(4), U(P9_NOFID), "", "/srv/../secret", U(0)), EACCES);
    ck_assert_int_eq(call(c, P9_TATTACH, U(4), U(P9_NOFID), "", "/srv/share/inside", U(0)),
                     ENOTDIR);
    ck_assert_int_eq(call(c, P9_TATTACH, U(4), U(P9_NOFID), "", "/nope", U(0)), ENOENT);
    ck_assert_int_eq(call(c, P9_TATTACH, U(1), U(P9_NOFID), "", "", U(0)), EINVAL);
    client_free(c);
}
END_TEST

START_TEST(permissions_follow_the_attaching_uid)
{
    struct client *c = client_new();
    OK(p9_mem_create_file(c->mem, "/root_only", "secret", 6));
    session(c, 1, 0, "");
    OK(call(c, P9_TWALK, U(1), U(2), "root_only"));
    OK(call(c, P9_TSETATTR, U(2), U(P9_SETATTR_MODE), U(0600), U(0), U(0), U(0), U(0), U(0),
             U(0), U(0)));
    OK(call(c, P9_TMKDIR, U(1), "home", U(0777), U(0)));
    OK(call(c, P9_TMKDIR, U(1), "locked", U(0700), U(0)));
    OK(call(c, P9_TMKDIR, U(1), "tmp", U(01777), U(0)));
    /* uid 1000 attaches */
    OK(call(c, P9_TATTACH, U(10), U(P9_NOFID), "user", "", U(1000)));
    OK(call(c, P9_TWALK, U(10), U(11), "root_only"));
    ck_assert_int_eq(call(c, P9_TLOPEN, U(11), U(P9_DOTL_RDONLY)), EACCES);
    ck_assert_int_eq(call(c, P9_TSETATTR, U(11), U(P9_SETATTR_MODE), U(0666), U(0), U(0), U(0),
                          U(0), U(0), U(0), U(0)), EPERM);
    OK(call(c, P9_TWALK, U(10), U(12), "locked/x"));
    ck_assert_uint_eq(c->r.count, 1);            /* stopped at "locked": no search */
    OK(call(c, P9_TWALK, U(10), U(12), "locked"));
    ck_assert_int_eq(call(c, P9_TWALK, U(12), U(17), "x"), EACCES);
    ck_assert_int_eq(call(c, P9_TLCREATE, U(10), "mine", U(P9_DOTL_RDWR), U(0644), U(1000)),
                     EACCES);
    ck_assert_int_eq(call(c, P9_TUNLINKAT, U(10), "root_only", U(0)), EACCES);
    /* in a world-writable dir the user creates and owns its file */
    OK(call(c, P9_TWALK, U(10), U(13), "home"));
    OK(call(c, P9_TLCREATE, U(13), "mine", U(P9_DOTL_RDWR), U(0644), U(1000)));
    struct p9_attr a = getattr(c, 13);
    ck_assert_uint_eq(a.uid, 1000);
    ck_assert_uint_eq(a.gid, 1000);
    ck_assert_int_eq(call(c, P9_TSETATTR, U(13), U(P9_SETATTR_UID), U(0), U(0), U(0), U(0), U(0),
                          U(0), U(0), U(0)), EPERM);
    OK(call(c, P9_TSETATTR, U(13), U(P9_SETATTR_MODE), U(0600), U(0), U(0), U(0), U(0), U(0),
            U(0), U(0)));
    /* sticky /tmp: root's file there cannot be removed by the user */
    OK(call(c, P9_TWALK, U(1), U(14), "tmp"));
    OK(call(c, P9_TLCREATE, U(14), "roots", U(P9_DOTL_RDWR), U(0666), U(0)));
    OK(call(c, P9_TWALK, U(10), U(15), "tmp"));
    ck_assert_int_eq(call(c, P9_TUNLINKAT, U(15), "roots", U(0)), EPERM);
    OK(call(c, P9_TLCREATE, U(15), "users", U(P9_DOTL_RDWR), U(0666), U(1000)));
    OK(call(c, P9_TWALK, U(10), U(16), "tmp"));
    OK(call(c, P9_TUNLINKAT, U(16), "users", U(0)));
    /* root may do anything */
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDWR)));
    client_free(c);
}
END_TEST

/* ---- locks ---- */

static int lock(struct client *c, uint32_t fid, uint8_t type, uint64_t start, uint64_t len,
                uint32_t pid)
{
    OK(call(c, P9_TLOCK, U(fid), U(type), U(0), U(start), U(len), U(pid), "guest"));
    return (int)c->r.f[0].num;
}

START_TEST(posix_locks)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    OK(p9_mem_create_file(c->mem, "/l", "", 0));
    OK(call(c, P9_TWALK, U(1), U(2), "l"));
    ck_assert_int_eq(lock(c, 2, P9_LOCK_WRLCK, 0, 100, 10), P9_LOCK_SUCCESS);
    ck_assert_int_eq(lock(c, 2, P9_LOCK_RDLCK, 50, 10, 11), P9_LOCK_BLOCKED);
    ck_assert_int_eq(lock(c, 2, P9_LOCK_WRLCK, 100, 0, 11), P9_LOCK_SUCCESS);
    /* getlock reports the holder */
    OK(call(c, P9_TGETLOCK, U(2), U(P9_LOCK_RDLCK), U(10), U(1), U(11), "guest"));
    ck_assert_uint_eq(c->r.f[0].num, P9_LOCK_WRLCK);
    ck_assert_uint_eq(c->r.f[1].num, 0);
    ck_assert_uint_eq(c->r.f[2].num, 100);
    ck_assert_uint_eq(c->r.f[3].num, 10);
    /* unlocking the middle splits the owner's range */
    ck_assert_int_eq(lock(c, 2, P9_LOCK_UNLCK, 40, 20, 10), P9_LOCK_SUCCESS);
    ck_assert_int_eq(lock(c, 2, P9_LOCK_WRLCK, 45, 5, 11), P9_LOCK_SUCCESS);
    ck_assert_int_eq(lock(c, 2, P9_LOCK_WRLCK, 30, 15, 12), P9_LOCK_BLOCKED);
    OK(call(c, P9_TGETLOCK, U(2), U(P9_LOCK_WRLCK), U(100), U(40), U(12), "guest"));
    ck_assert_uint_eq(c->r.f[0].num, P9_LOCK_WRLCK);
    ck_assert_uint_eq(c->r.f[1].num, 100);
    ck_assert_uint_eq(c->r.f[2].num, 0);
    /* read locks share */
    OK(p9_mem_create_file(c->mem, "/r", "", 0));
    OK(call(c, P9_TWALK, U(1), U(3), "r"));
    ck_assert_int_eq(lock(c, 3, P9_LOCK_RDLCK, 0, 0, 1), P9_LOCK_SUCCESS);
    ck_assert_int_eq(lock(c, 3, P9_LOCK_RDLCK, 0, 0, 2), P9_LOCK_SUCCESS);
    OK(call(c, P9_TGETLOCK, U(3), U(P9_LOCK_RDLCK), U(0), U(0), U(3), "guest"));
    ck_assert_uint_eq(c->r.f[0].num, P9_LOCK_UNLCK);
    ck_assert_int_eq(call(c, P9_TLOCK, U(3), U(7), U(0), U(0), U(0), U(1), "guest"), EINVAL);
    client_free(c);
}
END_TEST

/* ---- flush of a request parked on a back end that waits ---- */

struct waiting {
    p9_wake_fn wake;
    void *arg;
    int calls;
    uint64_t tokens[8];
    uint8_t types[8];
    uint16_t tags[8];
    int completions;
};

/* The test's only file-scope state: prepare gets no context of its own. */
static struct waiting *the_waiting;

static int waiting_prepare(void *be, struct p9_node *n, p9_wake_fn wake, void *arg)
{
    (void)be, (void)n;
    the_waiting->calls++;
    if (the_waiting->wake)
        return 0;                    /* woken once: ready from now on */
    the_waiting->wake = wake;
    the_waiting->arg = arg;
    return P9_PENDING;
}

static void record_completion(void *ctx, uint64_t token, const uint8_t *reply, size_t len)
{
    struct waiting *w = ctx;
    struct p9_msg r;
    ck_assert_int_eq(p9_decode(reply, len, &r), 0);
    ck_assert_int_lt(w->completions, 8);
    w->tokens[w->completions] = token;
    w->types[w->completions] = r.type;
    w->tags[w->completions] = r.tag;
    w->completions++;
}

static struct client *waiting_client(struct waiting *w, struct p9_backend_ops *ops)
{
    struct client *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(p9_mem_new(NULL, &c->mem_copy), 0);
    *ops = *c->mem_copy.ops;
    ops->prepare = waiting_prepare;
    c->mem_copy.ops = ops;
    c->mem = &c->mem_copy;
    struct p9_server_config sc = { .backend = c->mem_copy };
    c->srv = p9_server_new(&sc);
    the_waiting = w;
    p9_server_set_completion(c->srv, record_completion, w);
    return c;
}

START_TEST(flush_answers_the_parked_request_first)
{
    struct waiting w = { 0 };
    struct p9_backend_ops ops;
    struct client *c = waiting_client(&w, &ops);
    OK(p9_mem_create_file(c->mem, "/slow", "payload", 7));
    submit(c, 1, P9_TVERSION, U(65536), "9P2000.L");
    submit(c, 2, P9_TATTACH, U(1), U(P9_NOFID), "", "", U(0));
    submit(c, 3, P9_TWALK, U(1), U(2), "slow");
    ck_assert_int_eq(w.completions, 3);
    submit(c, 4, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY));
    ck_assert_int_eq(w.completions, 3);          /* parked */
    ck_assert_uint_eq(p9_server_pending(c->srv), 1);
    submit(c, 5, P9_TFLUSH, U(4));
    ck_assert_int_eq(w.completions, 5);
    ck_assert_uint_eq(w.tokens[3], 4);
    ck_assert_uint_eq(w.types[3], P9_RLERROR);
    ck_assert_uint_eq(w.tokens[4], 5);
    ck_assert_uint_eq(w.types[4], P9_RFLUSH);
    ck_assert_uint_eq(p9_server_pending(c->srv), 0);
    w.wake(w.arg, 0);                            /* late wake: nothing more */
    ck_assert_int_eq(w.completions, 5);
    /* parked again, then woken: the request is re-run and answered */
    w.wake = NULL;
    submit(c, 6, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY));
    ck_assert_int_eq(w.completions, 5);
    w.wake(w.arg, 0);
    ck_assert_int_eq(w.completions, 6);
    ck_assert_uint_eq(w.types[5], P9_RLOPEN);
    ck_assert_uint_eq(w.tokens[5], 6);
    /* synchronous handling of a waiting back end answers EAGAIN */
    w.wake = NULL;
    ck_assert_int_eq(call(c, P9_TREAD, U(2), U(0), U(10)), EAGAIN);
    w.wake(w.arg, ECANCELED);
    ck_assert_int_eq(w.completions, 6);
    client_free(c);
}
END_TEST

/* ---- the mem back end's own helpers ---- */

START_TEST(mem_helpers_round_trip)
{
    struct p9_backend b;
    OK(p9_mem_new(NULL, &b));
    OK(p9_mem_create_file(&b, "a/b/c.txt", "abc", 3));
    OK(p9_mem_create_file(&b, "/a/b/c.txt", "replaced", 8));
    void *data;
    size_t len;
    OK(p9_mem_read_file(&b, "/a/b/c.txt", &data, &len));
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(data, "replaced", 8);
    free(data);
    ck_assert_int_eq(p9_mem_read_file(&b, "/a/b", &data, &len), EISDIR);
    ck_assert_int_eq(p9_mem_read_file(&b, "/a/x", &data, &len), ENOENT);
    ck_assert_int_eq(p9_mem_create_file(&b, "/a/b/c.txt/d", "", 0), ENOTDIR);
    b.ops->destroy(b.be);
}
END_TEST

/* Random writes and truncations through the operations table, checked
 * against a flat reference buffer after every step. */
START_TEST(mem_random_writes_match_a_flat_buffer)
{
    enum { SPAN = 300000, STEPS = 400 };
    struct p9_backend b;
    OK(p9_mem_new(NULL, &b));
    OK(p9_mem_create_file(&b, "/r", "", 0));
    struct p9_node *root, *file;
    OK(b.ops->root(b.be, &root));
    OK(b.ops->lookup(b.be, root, "r", &file));
    static uint8_t want[SPAN], piece[70000];
    uint64_t size = 0, rng = 12345;
    for (int step = 0; step < STEPS; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t off = (uint32_t)(rng >> 33) % (SPAN - sizeof piece);
        uint32_t len = (uint32_t)(rng >> 13) % sizeof piece;
        if (step % 10 == 9) {                    /* truncate instead */
            struct p9_setattr sa = { .valid = P9_SETATTR_SIZE, .size = off };
            OK(b.ops->setattr(b.be, file, &sa));
            if (off < size)
                memset(want + off, 0, size - off);
            size = off;
        } else {
            memset(piece, step & 0xFF, len);
            uint32_t done;
            OK(b.ops->write(b.be, file, NULL, off, piece, len, &done));
            ck_assert_uint_eq(done, len);
            memcpy(want + off, piece, len);
            if (len && off + len > size)
                size = off + len;
        }
        void *got;
        size_t got_len;
        OK(p9_mem_read_file(&b, "/r", &got, &got_len));
        ck_assert_uint_eq(got_len, size);
        ck_assert_int_eq(memcmp(got, want, size), 0);
        free(got);
    }
    b.ops->release(b.be, file);
    b.ops->release(b.be, root);
    b.ops->destroy(b.be);
}
END_TEST

START_TEST(small_files_stay_small)
{
    struct p9_backend b;
    struct p9_mem_config cfg = { .capacity_bytes = 1u << 20 };
    OK(p9_mem_new(&cfg, &b));
    char name[16];
    for (int i = 0; i < 1000; i++) {       /* 1000 x 64 KiB would not fit */
        snprintf(name, sizeof name, "/s%d", i);
        OK(p9_mem_create_file(&b, name, "tiny", 4));
    }
    b.ops->destroy(b.be);
}
END_TEST

START_TEST(mem_capacity_is_enforced)
{
    struct p9_backend b;
    struct p9_mem_config cfg = { .capacity_bytes = 1u << 20, .max_objects = 16 };
    OK(p9_mem_new(&cfg, &b));
    static uint8_t big[2u << 20];
    ck_assert_int_eq(p9_mem_create_file(&b, "/big", big, sizeof big), ENOSPC);
    char name[16];
    int err = 0;
    for (int i = 0; i < 20 && !err; i++) {
        snprintf(name, sizeof name, "/f%d", i);
        err = p9_mem_create_file(&b, name, "", 0);
    }
    ck_assert_int_eq(err, ENOSPC);
    b.ops->destroy(b.be);
}
END_TEST

START_TEST(unlinked_open_file_stays_readable)
{
    struct client *c = client_new();
    session(c, 1, 0, "");
    OK(p9_mem_create_file(c->mem, "/gone", "still here", 10));
    OK(call(c, P9_TWALK, U(1), U(2), "gone"));
    OK(call(c, P9_TLOPEN, U(2), U(P9_DOTL_RDONLY)));
    OK(call(c, P9_TUNLINKAT, U(1), "gone", U(0)));
    expect_read(c, 2, 0, 100, "still here", 10);
    ck_assert_uint_eq(getattr(c, 2).nlink, 0);
    /* rename of a directory into itself is refused */
    OK(call(c, P9_TMKDIR, U(1), "d", U(0755), U(0)));
    OK(call(c, P9_TWALK, U(1), U(3), "d"));
    OK(call(c, P9_TMKDIR, U(3), "e", U(0755), U(0)));
    OK(call(c, P9_TWALK, U(3), U(4), "e"));
    ck_assert_int_eq(call(c, P9_TRENAMEAT, U(1), "d", U(4), "x"), EINVAL);
    ck_assert_int_eq(call(c, P9_TUNLINKAT, U(1), "d", U(P9_AT_REMOVEDIR)), ENOTEMPTY);
    /* nothing can be put into a removed directory */
    OK(call(c, P9_TUNLINKAT, U(3), "e", U(P9_AT_REMOVEDIR)));
    ck_assert_int_eq(call(c, P9_TRENAMEAT, U(1), "d", U(4), "x"), ENOENT);
    OK(call(c, P9_TMKDIR, U(1), "f", U(0755), U(0)));
    ck_assert_int_eq(call(c, P9_TRENAMEAT, U(1), "f", U(4), "x"), ENOENT);
    ck_assert_int_eq(call(c, P9_TMKDIR, U(4), "y", U(0755), U(0)), ENOENT);
    client_free(c);
}
END_TEST

static Suite *fs9p_suite(void)
{
    Suite *s = suite_create("fs9p");
    TCase *codec = tcase_create("codec");
    tcase_add_test(codec, every_message_round_trips);
    tcase_add_test(codec, sixty_four_bit_fields_stay_sixty_four_bit);
    tcase_add_test(codec, decoder_rejects_bad_frames);
    tcase_add_test(codec, every_truncation_gets_rlerror);
    tcase_add_test(codec, unknown_and_reply_types_get_eopnotsupp);
    suite_add_tcase(s, codec);
    TCase *server = tcase_create("server");
    tcase_set_timeout(server, 60);
    tcase_add_test(server, scripted_session_on_mem);
    tcase_add_test(server, read_write_need_the_right_open_mode);
    tcase_add_test(server, readdir_survives_concurrent_unlink);
    tcase_add_test(server, msize_is_capped_by_the_transport);
    tcase_add_test(server, aname_selects_a_subdirectory);
    tcase_add_test(server, permissions_follow_the_attaching_uid);
    tcase_add_test(server, posix_locks);
    tcase_add_test(server, flush_answers_the_parked_request_first);
    tcase_add_test(server, unlinked_open_file_stays_readable);
    suite_add_tcase(s, server);
    TCase *mem = tcase_create("mem");
    tcase_add_test(mem, mem_helpers_round_trip);
    tcase_add_test(mem, mem_capacity_is_enforced);
    tcase_add_test(mem, mem_random_writes_match_a_flat_buffer);
    tcase_add_test(mem, small_files_stay_small);
    suite_add_tcase(s, mem);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fs9p_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
