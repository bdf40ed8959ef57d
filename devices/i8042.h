/* i8042.h — the PS/2 keyboard controller (ports 0x60/0x64) with its keyboard
 * and mouse.
 *
 * Promises:
 * - Controller: command byte (0x20/0x60 and the rest of its 32-byte RAM),
 *   self test (0xAA -> 0x55), interface tests, enable/disable of either port,
 *   output port read/write (bit 1 drives the A20 gate, bit 0 clear resets),
 *   0xDD/0xDF A20, pulse lines 0xF0-0xFF (bit 0 clear = reset), 0xD2/0xD3
 *   (bytes as if from either device), 0xD4 (next byte to the mouse), input
 *   port and test inputs. Resets happen through the board at the next run
 *   step, never inside the port write.
 * - One output buffer: controller replies first, then keyboard bytes (while
 *   its port is enabled), then mouse bytes (likewise). Status bit 0 says it is
 *   full, bit 5 that the byte came from the mouse. IRQ1/IRQ12 are high while a
 *   keyboard/mouse byte waits and the command byte enables the interrupt.
 *   With command byte bit 6 the controller translates keyboard bytes from
 *   scan code set 2 to set 1 (0xF0 prefix -> bit 7), as the real 8042 does.
 * - Keyboard: reset (0xFA 0xAA), LEDs, typematic, scan code set 1/2 query and
 *   select, echo, identify (0xFA 0xAB 0x83), enable/disable, defaults.
 * - Mouse: reset (0xFA 0xAA 0x00), identify (0x00, or 0x03 after the
 *   IntelliMouse rate sequence 200/100/80), sample rate, resolution, scaling,
 *   stream and remote modes, status request, read data, enable/disable.
 * - Input from the frontend: i8042_key_event takes set-2 bytes (make codes,
 *   0xF0 break prefixes, 0xE0 prefixes); i8042_mouse_event takes motion (dy
 *   positive = up, as PS/2 reports it) and buttons (bit 0 left, 1 right, 2
 *   middle). Bytes that do not fit a device's queue are dropped.
 */
#ifndef PLAN86_I8042_H
#define PLAN86_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct sysctl;
struct snap_writer;
struct snap_reader;

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12
#define PS2_QUEUE_SIZE 32

enum {
    I8042_STATUS_OBF = 0x01, I8042_STATUS_SYS = 0x04, I8042_STATUS_CMD = 0x08,
    I8042_STATUS_UNLOCKED = 0x10, I8042_STATUS_AUX = 0x20,
};
enum {
    I8042_CMD_KBD_INT = 0x01, I8042_CMD_AUX_INT = 0x02, I8042_CMD_SYS = 0x04,
    I8042_CMD_KBD_DISABLE = 0x10, I8042_CMD_AUX_DISABLE = 0x20, I8042_CMD_XLATE = 0x40,
};

struct ps2_queue {
    uint8_t data[PS2_QUEUE_SIZE];
    uint8_t head, count;
};

struct ps2_keyboard {
    struct ps2_queue q;
    uint8_t pending;        /* command awaiting its argument, 0 = none */
    uint8_t scancode_set;   /* 1 or 2 */
    uint8_t leds, typematic;
    bool scanning;
};

struct ps2_mouse {
    struct ps2_queue q;
    uint8_t pending;
    uint8_t sample_rate, resolution;
    uint8_t rate_history[3];   /* last three sample rates, newest last */
    uint8_t id;                /* 0, or 3 for the IntelliMouse protocol */
    uint8_t buttons;
    bool enabled, remote, scaling_2to1;
    int32_t dx, dy;            /* motion not yet reported (remote mode) */
};

struct i8042 {
    struct machine *m;
    struct sysctl *sys;        /* A20 gate and reset line */
    struct ps2_keyboard kbd;
    struct ps2_mouse mouse;
    struct ps2_queue replies;  /* controller replies */
    uint8_t ram[32];           /* ram[0] is the command byte */
    uint8_t output_port;
    uint8_t pending;           /* controller command awaiting a data byte */
    uint8_t out_byte;
    bool obf, out_aux, last_was_command, xlate_break;
    bool irq1, irq12;          /* levels driven */
};

const char *i8042_attach(struct machine *m, struct i8042 *k, struct sysctl *sys);
/* Port-level access (what the guest sees), also for tests. */
uint8_t i8042_read_data(struct i8042 *k);
uint8_t i8042_read_status(const struct i8042 *k);
void i8042_write_data(struct i8042 *k, uint8_t byte);
void i8042_write_command(struct i8042 *k, uint8_t cmd);

void i8042_key_event(struct i8042 *k, const uint8_t *set2_bytes, size_t len);
void i8042_mouse_event(struct i8042 *k, int dx, int dy, uint8_t buttons);

void i8042_save(const struct i8042 *k, struct snap_writer *w);
bool i8042_load(struct i8042 *k, struct snap_reader *r);

#endif
