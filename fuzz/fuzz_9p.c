/* fuzz_9p.c — libFuzzer target for the 9P2000.L codec and server.
 *
 * Promises: whatever bytes arrive, the server on a small `mem` back end
 * answers each frame with a well-formed reply that fits the buffer, and
 * nothing crashes, leaks or reads out of bounds (run under ASan/UBSan).
 * The input is a sequence of frames, each preceded by a 16-bit word: its
 * low 15 bits are the frame's length, and a set top bit has the frame's own
 * size field made right (so the fuzzer reaches the handlers as well as the
 * framing checks). A valid Tversion and Tattach go first, so the fuzzer
 * starts inside a session.
 * Built only by clang with -fsanitize=fuzzer (see tests/meson.build).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs9p/backend_mem.h"
#include "fs9p/server.h"
#include "fs9p/wire.h"

#define FUZZ_MSIZE 8192u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void send_frame(struct p9_server *srv, const uint8_t *frame, size_t len, uint8_t *reply)
{
    size_t n = p9_server_handle(srv, frame, len, reply, FUZZ_MSIZE);
    struct p9_msg m;
    if (n < P9_HEADER_SIZE || n > FUZZ_MSIZE || p9_decode(reply, n, &m) != 0)
        abort();   /* every request must get a well-formed reply */
}

static void start_session(struct p9_server *srv, uint8_t *reply)
{
    uint8_t frame[64];
    struct p9_msg m = { .type = P9_TVERSION, .tag = P9_NOTAG };
    m.f[0].num = FUZZ_MSIZE;
    m.f[1].str = (struct p9_bytes){ (const uint8_t *)"9P2000.L", 8 };
    send_frame(srv, frame, p9_encode(&m, frame, sizeof frame), reply);
    m = (struct p9_msg){ .type = P9_TATTACH, .tag = 1 };
    m.f[0].num = 0;
    m.f[1].num = P9_NOFID;
    m.f[4].num = 0;
    send_frame(srv, frame, p9_encode(&m, frame, sizeof frame), reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct p9_backend be;
    struct p9_mem_config mc = { .capacity_bytes = 4u << 20, .max_objects = 2048 };
    if (p9_mem_new(&mc, &be))
        return 0;
    p9_mem_create_file(&be, "/etc/motd", "hello", 5);
    struct p9_server_config sc = { .backend = be, .max_msize = FUZZ_MSIZE };
    struct p9_server *srv = p9_server_new(&sc);
    uint8_t *reply = malloc(FUZZ_MSIZE);
    if (!srv || !reply) {
        p9_server_free(srv);
        free(reply);
        return 0;
    }
    start_session(srv, reply);
    while (size >= 2) {
        size_t word = (size_t)(data[0] | data[1] << 8);
        size_t len = word & 0x7FFF;
        bool fix_size = word & 0x8000;
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        /* A private copy, so ASan sees any read past the frame. */
        uint8_t *frame = malloc(len ? len : 1);
        if (!frame)
            break;
        memcpy(frame, data, len);
        if (fix_size && len >= 4)
            p9_put_u32(frame, (uint32_t)len);
        send_frame(srv, frame, len, reply);
        free(frame);
        data += len;
        size -= len;
    }
    p9_server_free(srv);
    free(reply);
    return 0;
}
