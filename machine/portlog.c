/* portlog.c — port logs (see portlog.h). */
#include "portlog.h"

#include <errno.h>
#include <string.h>

static void append_byte(void *opaque, uint16_t port, uint8_t byte)
{
    (void)port;
    fputc(byte, (FILE *)opaque);
}

bool port_logs_add(struct port_logs *pl, struct portbus *bus, uint16_t port, const char *path,
                   char *err, size_t err_size)
{
    if (pl->n == PLAN86_MAX_PORT_LOGS) {
        snprintf(err, err_size, "port log 0x%04X: at most %d port logs", port, PLAN86_MAX_PORT_LOGS);
        return false;
    }
    if (!path || !*path) {
        snprintf(err, err_size, "port log 0x%04X: no file name", port);
        return false;
    }
    FILE *f = fopen(path, "ab");
    if (!f) {
        snprintf(err, err_size, "port log 0x%04X: cannot open %s for appending: %s", port, path,
                 strerror(errno));
        return false;
    }
    const char *why = portbus_add_tap(bus, port, append_byte, f);
    if (why) {
        fclose(f);
        snprintf(err, err_size, "port log 0x%04X: %s", port, why);
        return false;
    }
    pl->files[pl->n++] = f;
    return true;
}

void port_logs_flush(struct port_logs *pl)
{
    for (int k = 0; k < pl->n; k++)
        fflush(pl->files[k]);
}

void port_logs_close(struct port_logs *pl)
{
    for (int k = 0; k < pl->n; k++)
        fclose(pl->files[k]);
    pl->n = 0;
}
