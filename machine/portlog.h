/* portlog.h — port logs: bytes the guest writes to chosen I/O ports, appended
 * to host files (like QEMU's debugcon chardev).
 *
 * Promises: adding a log opens its file for appending at once (a file that
 * cannot be opened is an error naming the port and the file) and watches the
 * port through a port-bus tap, so the device that owns the port, if any, still
 * gets every write. Every byte is appended in the order the guest wrote it;
 * port_logs_flush pushes buffered bytes to the files, port_logs_close closes
 * them.
 */
#ifndef PLAN86_PORTLOG_H
#define PLAN86_PORTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plan86.h"
#include "portio.h"

struct port_logs {
    FILE *files[PLAN86_MAX_PORT_LOGS];
    int n;
};

/* Returns false with one line in err when the log cannot be added. */
bool port_logs_add(struct port_logs *pl, struct portbus *bus, uint16_t port, const char *path,
                   char *err, size_t err_size);
void port_logs_flush(struct port_logs *pl);
void port_logs_close(struct port_logs *pl);

#endif
