/* fuzz_virtqueue.c — libFuzzer target for the split-virtqueue walker
 * (virtio/virtqueue.c).
 *
 * The input is guest RAM: its first byte picks the ring size and the
 * negotiated features, the rest is copied to address 0 of a small machine
 * whose descriptor table, avail ring and indirect tables it thereby
 * controls. The walker pops every chain, gathers the readable bytes,
 * scatters a pattern into the writable ones and puts used elements, until
 * the ring is empty or refused. Under ASan/UBSan nothing may read or write
 * outside guest RAM or the local buffers, and a refused ring must stay
 * refused. Build: meson setup -Dfuzz=true with CC=clang.
 * The one machine is kept across inputs (building a machine costs more than
 * a run); every input starts from zeroed RAM and a fresh queue.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "virtio/virtqueue.h"

#define FUZZ_RAM (64u << 10)
#define AVAIL_AT 0x0000u           /* rings packed low so short inputs reach them */
#define USED_AT 0x0200u
#define DESC_AT 0x0800u
#define MAX_ROUNDS 4096

static void walk_all(struct virtq *q, struct virtq_chain *chain, uint8_t *frame)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        const char *why = NULL;
        enum virtq_pop_result got = virtq_pop(q, chain, &why);
        if (got == VIRTQ_BROKEN) {
            if (!why || q->ready || virtq_pop(q, chain, &why) != VIRTQ_EMPTY)
                abort();
            return;
        }
        if (got == VIRTQ_EMPTY)
            break;
        uint64_t want = chain->read_bytes < FUZZ_RAM ? chain->read_bytes : FUZZ_RAM;
        uint64_t got_bytes = virtq_chain_gather(q->m, chain, frame, want);
        uint64_t written = virtq_segs_scatter(q->m, chain->segs + chain->nread, chain->nwrite, frame, got_bytes);
        virtq_push(q, chain->head, (uint32_t)written);
    }
    virtq_publish_avail_event(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct machine *m;
    char err[160];
    if (!m)
        m = machine_new_bare(FUZZ_RAM, true, 1, err, sizeof err);
    struct virtq_chain *chain = malloc(sizeof *chain);
    uint8_t *frame = malloc(FUZZ_RAM);
    if (!m || !chain || !frame)
        abort();
    memset(m->ram, 0, FUZZ_RAM);
    size_t body = size - 1 < FUZZ_RAM ? size - 1 : FUZZ_RAM;
    machine_phys_write(m, 0, data + 1, body);
    struct virtq q;
    virtq_reset(&q, m, 256);
    q.size = (uint16_t)(1u << (data[0] & 7));     /* 1..128 entries */
    q.desc_addr = DESC_AT;
    q.avail_addr = AVAIL_AT;
    q.used_addr = USED_AT;
    if (virtq_enable(&q, data[0] & 0x40, data[0] & 0x80) == NULL)
        walk_all(&q, chain, frame);
    free(frame);
    free(chain);
    return 0;
}
