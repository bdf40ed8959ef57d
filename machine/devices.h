/* devices.h — the devices of the board, one attach function each.
 *
 * Promises: an attach function claims the device's ports, memory and IRQ
 * lines on the machine and returns NULL, or a message saying why it could not.
 * machine.c calls them in the order of its board table.
 */
#ifndef PLAN86_DEVICES_H
#define PLAN86_DEVICES_H

struct machine;

const char *debugcon_attach(struct machine *m);   /* devices/debugcon.c: port 0xE9 */

#endif
