/* machine/host_events.h — work handed to the guest thread by other host threads.
 *
 * Promises: any thread may post fn(arg); the guest thread runs posted work in
 * the order posted when it drains the queue (between CPU slices), and an idle
 * wait on the queue ends as soon as something is posted. Work still queued
 * when the queue is freed is dropped without running: posters own what
 * `arg` points to and must not depend on fn running after they are gone.
 */
#ifndef PLAN86_MACHINE_HOST_EVENTS_H
#define PLAN86_MACHINE_HOST_EVENTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct host_event;

struct host_events {
    pthread_mutex_t lock;
    struct host_event *head, *tail;
    int wake_fd;                   /* eventfd: readable while work is queued */
    atomic_bool queued;            /* work was posted since the last drain (no syscall to see it) */
};

/* False if the eventfd cannot be made. */
bool host_events_init(struct host_events *q);
void host_events_free(struct host_events *q);
/* From any thread. False when out of memory (nothing was queued). */
bool host_events_post(struct host_events *q, void (*fn)(void *arg), void *arg);
/* Guest thread: runs everything queued now (work posted meanwhile waits for
 * the next drain). With nothing posted it costs one atomic load: it runs
 * between every two CPU slices. */
void host_events_drain(struct host_events *q);
/* Guest thread: sleeps up to ns nanoseconds, less if work is posted. */
void host_events_wait(struct host_events *q, uint64_t ns);

#endif
