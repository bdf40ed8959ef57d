/* machine/host_events.c — the cross-thread work queue (see host_events.h). */
#include "host_events.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct host_event {
    struct host_event *next;
    void (*fn)(void *arg);
    void *arg;
};

bool host_events_init(struct host_events *q)
{
    q->head = q->tail = NULL;
    atomic_init(&q->queued, false);
    q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->wake_fd < 0)
        return false;
    pthread_mutex_init(&q->lock, NULL);
    return true;
}

void host_events_free(struct host_events *q)
{
    if (q->wake_fd < 0)
        return;
    for (struct host_event *e = q->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    q->head = q->tail = NULL;
    close(q->wake_fd);
    q->wake_fd = -1;
    pthread_mutex_destroy(&q->lock);
}

bool host_events_post(struct host_events *q, void (*fn)(void *arg), void *arg)
{
    struct host_event *e = malloc(sizeof *e);
    if (!e)
        return false;
    *e = (struct host_event){ NULL, fn, arg };
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    pthread_mutex_unlock(&q->lock);
    /* The wake-up before the flag: a drain that sees the flag then resets
     * the eventfd past this write, so it is never left readable with nothing
     * to drain (which would make every idle wait return at once). */
    uint64_t one = 1;
    ssize_t n = write(q->wake_fd, &one, sizeof one);   /* fails only when the counter is full */
    (void)n;
    atomic_store(&q->queued, true);
    return true;
}

void host_events_drain(struct host_events *q)
{
    if (!atomic_exchange(&q->queued, false))
        return;                                          /* nothing was posted */
    uint64_t count;
    ssize_t n = read(q->wake_fd, &count, sizeof count);  /* reset for host_events_wait */
    (void)n;
    pthread_mutex_lock(&q->lock);
    struct host_event *e = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    while (e) {
        struct host_event *next = e->next;
        e->fn(e->arg);
        free(e);
        e = next;
    }
}

void host_events_wait(struct host_events *q, uint64_t ns)
{
    struct pollfd p = { .fd = q->wake_fd, .events = POLLIN };
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    ppoll(&p, 1, &ts, NULL);
}
