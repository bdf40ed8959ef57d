/* i8042.c — PS/2 controller, keyboard and mouse (see i8042.h). */
#include "i8042.h"

#include <string.h>

#include "machine/machine.h"
#include "machine/snapshot.h"
#include "sysctl.h"

#define PS2_ACK 0xFA
#define PS2_RESEND 0xFE
#define PS2_SELF_TEST_OK 0xAA
#define KBC_SELF_TEST_OK 0x55
#define OUT_PORT_RESET 0x01
#define OUT_PORT_A20 0x02
#define OUT_PORT_KBD_OBF 0x10
#define OUT_PORT_AUX_OBF 0x20
#define OUT_PORT_POWER_ON 0xCF
#define INPUT_PORT_UNLOCKED 0x80
#define CMD_BYTE_POWER_ON (I8042_CMD_KBD_INT | I8042_CMD_AUX_INT)
#define SET2_BREAK 0xF0

/* Scan code set 2 -> set 1, as the 8042 translates (codes 0x80 and up pass
 * through, except 0x83 (F7) and 0x84 (SysRq)). */
static const uint8_t set2_to_set1[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t translate_code(uint8_t code)
{
    if (code < 0x80)
        return set2_to_set1[code];
    return code == 0x83 ? 0x41 : code == 0x84 ? 0x54 : code;
}

/* ---- byte queues ---- */

static void queue_clear(struct ps2_queue *q)
{
    q->head = q->count = 0;
}

static size_t queue_room(const struct ps2_queue *q)
{
    return PS2_QUEUE_SIZE - q->count;
}

static void queue_push(struct ps2_queue *q, uint8_t byte)
{
    if (q->count == PS2_QUEUE_SIZE)
        return;
    q->data[(q->head + q->count) % PS2_QUEUE_SIZE] = byte;
    q->count++;
}

static uint8_t queue_pop(struct ps2_queue *q)
{
    uint8_t byte = q->data[q->head];
    q->head = (uint8_t)((q->head + 1) % PS2_QUEUE_SIZE);
    q->count--;
    return byte;
}

/* ---- the output buffer and the IRQ lines ---- */

static void drive_line(struct i8042 *k, bool *state, bool level, int line)
{
    if (*state == level)
        return;
    *state = level;
    if (level)
        machine_irq_raise(k->m, line);
    else
        machine_irq_lower(k->m, line);
}

static void update_irqs(struct i8042 *k)
{
    uint8_t cmd = k->ram[0];
    drive_line(k, &k->irq1, k->obf && !k->out_aux && (cmd & I8042_CMD_KBD_INT), I8042_KBD_IRQ);
    drive_line(k, &k->irq12, k->obf && k->out_aux && (cmd & I8042_CMD_AUX_INT), I8042_AUX_IRQ);
}

/* Next keyboard byte as the controller passes it on; false when it was
 * swallowed (a translated break prefix). */
static bool take_keyboard_byte(struct i8042 *k, uint8_t *out)
{
    uint8_t byte = queue_pop(&k->kbd.q);
    if (!(k->ram[0] & I8042_CMD_XLATE)) {
        *out = byte;
        return true;
    }
    if (byte == SET2_BREAK) {
        k->xlate_break = true;
        return false;
    }
    *out = (uint8_t)(translate_code(byte) | (k->xlate_break ? 0x80 : 0));
    k->xlate_break = false;
    return true;
}

static void fill_output(struct i8042 *k)
{
    uint8_t cmd = k->ram[0];
    while (!k->obf) {
        if (k->replies.count) {
            k->out_byte = queue_pop(&k->replies);
            k->out_aux = false;
        } else if (k->kbd.q.count && !(cmd & I8042_CMD_KBD_DISABLE)) {
            if (!take_keyboard_byte(k, &k->out_byte))
                continue;
            k->out_aux = false;
        } else if (k->mouse.q.count && !(cmd & I8042_CMD_AUX_DISABLE)) {
            k->out_byte = queue_pop(&k->mouse.q);
            k->out_aux = true;
        } else {
            break;
        }
        k->obf = true;
    }
    update_irqs(k);
}

/* ---- keyboard ---- */

static void kbd_defaults(struct ps2_keyboard *kb)
{
    kb->scancode_set = 2;
    kb->leds = 0;
    kb->typematic = 0x2B;
    kb->scanning = true;
    kb->pending = 0;
}

static void kbd_argument(struct ps2_keyboard *kb, uint8_t cmd, uint8_t arg)
{
    if (cmd == 0xED) {
        kb->leds = arg & 7;
    } else if (cmd == 0xF3) {
        kb->typematic = arg & 0x7F;
    } else if (arg == 0) {           /* 0xF0 0: which set? */
        queue_push(&kb->q, PS2_ACK);
        queue_push(&kb->q, kb->scancode_set);
        return;
    } else if (arg <= 2) {
        kb->scancode_set = arg;
    } else {
        queue_push(&kb->q, PS2_RESEND);
        return;
    }
    queue_push(&kb->q, PS2_ACK);
}

static void kbd_command(struct ps2_keyboard *kb, uint8_t cmd)
{
    switch (cmd) {
    case 0xED: case 0xF0: case 0xF3:
        kb->pending = cmd;
        queue_push(&kb->q, PS2_ACK);
        return;
    case 0xEE: queue_push(&kb->q, 0xEE); return;
    case 0xF2:
        queue_push(&kb->q, PS2_ACK);
        queue_push(&kb->q, 0xAB);
        queue_push(&kb->q, 0x83);
        return;
    case 0xF4: kb->scanning = true; break;
    case 0xF5: kbd_defaults(kb); kb->scanning = false; break;
    case 0xF6: kbd_defaults(kb); break;
    case 0xFF:
        queue_clear(&kb->q);
        kbd_defaults(kb);
        queue_push(&kb->q, PS2_ACK);
        queue_push(&kb->q, PS2_SELF_TEST_OK);
        return;
    default:
        if (cmd < 0xF7) {
            queue_push(&kb->q, PS2_RESEND);
            return;
        }
        break;                       /* 0xF7-0xFE: set-3 and resend commands */
    }
    queue_push(&kb->q, PS2_ACK);
}

static void kbd_write(struct ps2_keyboard *kb, uint8_t byte)
{
    uint8_t pending = kb->pending;
    kb->pending = 0;
    if (pending && byte < 0xED)
        kbd_argument(kb, pending, byte);
    else
        kbd_command(kb, byte);
}

void i8042_key_event(struct i8042 *k, const uint8_t *set2_bytes, size_t len)
{
    struct ps2_keyboard *kb = &k->kbd;
    if (!kb->scanning || queue_room(&kb->q) < len)
        return;
    bool brk = false;
    for (size_t n = 0; n < len; n++) {
        uint8_t b = set2_bytes[n];
        if (kb->scancode_set == 2)
            queue_push(&kb->q, b);
        else if (b == SET2_BREAK)
            brk = true;
        else {
            queue_push(&kb->q, (uint8_t)(translate_code(b) | (brk ? 0x80 : 0)));
            brk = false;
        }
    }
    fill_output(k);
}

/* ---- mouse ---- */

static void mouse_defaults(struct ps2_mouse *ms)
{
    ms->sample_rate = 100;
    ms->resolution = 2;
    ms->scaling_2to1 = ms->enabled = ms->remote = false;
    ms->dx = ms->dy = 0;
    ms->pending = 0;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static size_t packet_size(const struct ps2_mouse *ms)
{
    return ms->id == 3 ? 4 : 3;
}

/* One movement packet of the accumulated motion, then the motion is gone. */
static void mouse_packet(struct ps2_mouse *ms)
{
    int dx = clamp(ms->dx, -256, 255), dy = clamp(ms->dy, -256, 255);
    uint8_t b0 = (uint8_t)(0x08 | (ms->buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0) |
                           (dx != ms->dx ? 0x40 : 0) | (dy != ms->dy ? 0x80 : 0));
    queue_push(&ms->q, b0);
    queue_push(&ms->q, (uint8_t)dx);
    queue_push(&ms->q, (uint8_t)dy);
    if (ms->id == 3)
        queue_push(&ms->q, 0);
    ms->dx = ms->dy = 0;
}

static void mouse_status(struct ps2_mouse *ms)
{
    uint8_t b = ms->buttons & 7;
    uint8_t status = (uint8_t)((ms->remote ? 0x40 : 0) | (ms->enabled ? 0x20 : 0) |
                               (ms->scaling_2to1 ? 0x10 : 0) | (b & 1 ? 0x04 : 0) | (b & 4 ? 0x02 : 0) |
                               (b & 2 ? 0x01 : 0));
    queue_push(&ms->q, status);
    queue_push(&ms->q, ms->resolution);
    queue_push(&ms->q, ms->sample_rate);
}

static void mouse_set_rate(struct ps2_mouse *ms, uint8_t rate)
{
    ms->sample_rate = rate;
    memmove(ms->rate_history, ms->rate_history + 1, 2);
    ms->rate_history[2] = rate;
    if (ms->rate_history[0] == 200 && ms->rate_history[1] == 100 && ms->rate_history[2] == 80)
        ms->id = 3;
}

static void mouse_command(struct ps2_mouse *ms, uint8_t cmd)
{
    switch (cmd) {
    case 0xE6: ms->scaling_2to1 = false; break;
    case 0xE7: ms->scaling_2to1 = true; break;
    case 0xE8: case 0xF3: ms->pending = cmd; break;
    case 0xE9: queue_push(&ms->q, PS2_ACK); mouse_status(ms); return;
    case 0xEA: ms->remote = false; break;
    case 0xEB: queue_push(&ms->q, PS2_ACK); mouse_packet(ms); return;
    case 0xEC: case 0xEE: case 0xFE: break;   /* wrap mode is not modelled */
    case 0xF0: ms->remote = true; break;
    case 0xF2: queue_push(&ms->q, PS2_ACK); queue_push(&ms->q, ms->id); return;
    case 0xF4: ms->enabled = true; break;
    case 0xF5: ms->enabled = false; break;
    case 0xF6: mouse_defaults(ms); break;
    case 0xFF:
        queue_clear(&ms->q);
        mouse_defaults(ms);
        ms->id = 0;
        queue_push(&ms->q, PS2_ACK);
        queue_push(&ms->q, PS2_SELF_TEST_OK);
        queue_push(&ms->q, 0x00);
        return;
    default: queue_push(&ms->q, PS2_RESEND); return;
    }
    queue_push(&ms->q, PS2_ACK);
}

static void mouse_write(struct ps2_mouse *ms, uint8_t byte)
{
    uint8_t pending = ms->pending;
    ms->pending = 0;
    if (!pending) {
        mouse_command(ms, byte);
        return;
    }
    if (pending == 0xF3)
        mouse_set_rate(ms, byte);
    else
        ms->resolution = byte & 3;
    queue_push(&ms->q, PS2_ACK);
}

void i8042_mouse_event(struct i8042 *k, int dx, int dy, uint8_t buttons)
{
    struct ps2_mouse *ms = &k->mouse;
    ms->dx = clamp(ms->dx + clamp(dx, -4096, 4096), -4096, 4096);
    ms->dy = clamp(ms->dy + clamp(dy, -4096, 4096), -4096, 4096);
    ms->buttons = buttons & 7;
    if (!ms->enabled || ms->remote || queue_room(&ms->q) < packet_size(ms))
        return;
    mouse_packet(ms);
    fill_output(k);
}

/* ---- controller ---- */

static void set_output_port(struct i8042 *k, uint8_t value)
{
    bool a20 = value & OUT_PORT_A20;
    if (a20 != (bool)(k->output_port & OUT_PORT_A20))
        sysctl_set_a20(k->sys, a20);
    k->output_port = value | OUT_PORT_RESET;
    if (!(value & OUT_PORT_RESET))
        sysctl_request_reset(k->sys);
}

static uint8_t output_port_now(const struct i8042 *k)
{
    uint8_t v = k->output_port & (uint8_t)~(OUT_PORT_KBD_OBF | OUT_PORT_AUX_OBF);
    if (k->obf)
        v |= k->out_aux ? OUT_PORT_AUX_OBF : OUT_PORT_KBD_OBF;
    return v;
}

static void reply(struct i8042 *k, uint8_t byte)
{
    queue_push(&k->replies, byte);
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    if (cmd >= 0x20 && cmd <= 0x3F) { reply(k, k->ram[cmd & 0x1F]); return; }
    if ((cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4)) { k->pending = cmd; return; }
    if (cmd >= 0xF0) {
        if (!(cmd & 1))
            sysctl_request_reset(k->sys);
        return;
    }
    switch (cmd) {
    case 0xA7: k->ram[0] |= I8042_CMD_AUX_DISABLE; break;
    case 0xA8: k->ram[0] &= (uint8_t)~I8042_CMD_AUX_DISABLE; break;
    case 0xA9: case 0xAB: case 0xE0: reply(k, 0x00); break;
    case 0xAA: k->ram[0] |= I8042_CMD_SYS; reply(k, KBC_SELF_TEST_OK); break;
    case 0xAD: k->ram[0] |= I8042_CMD_KBD_DISABLE; break;
    case 0xAE: k->ram[0] &= (uint8_t)~I8042_CMD_KBD_DISABLE; break;
    case 0xC0: reply(k, INPUT_PORT_UNLOCKED); break;
    case 0xD0: reply(k, output_port_now(k)); break;
    case 0xDD: set_output_port(k, k->output_port & (uint8_t)~OUT_PORT_A20); break;
    case 0xDF: set_output_port(k, k->output_port | OUT_PORT_A20); break;
    default: break;
    }
}

static void controller_data(struct i8042 *k, uint8_t cmd, uint8_t byte)
{
    switch (cmd) {
    case 0xD1: set_output_port(k, byte); break;
    case 0xD2: reply(k, byte); break;
    case 0xD3: queue_push(&k->mouse.q, byte); break;
    case 0xD4: mouse_write(&k->mouse, byte); break;
    default: k->ram[cmd & 0x1F] = byte; break;   /* 0x60-0x7F */
    }
}

void i8042_write_command(struct i8042 *k, uint8_t cmd)
{
    k->last_was_command = true;
    k->pending = 0;
    controller_command(k, cmd);
    fill_output(k);
}

void i8042_write_data(struct i8042 *k, uint8_t byte)
{
    k->last_was_command = false;
    uint8_t pending = k->pending;
    k->pending = 0;
    if (pending)
        controller_data(k, pending, byte);
    else
        kbd_write(&k->kbd, byte);
    fill_output(k);
}

uint8_t i8042_read_data(struct i8042 *k)
{
    uint8_t byte = k->out_byte;
    k->obf = false;
    update_irqs(k);
    fill_output(k);
    return byte;
}

uint8_t i8042_read_status(const struct i8042 *k)
{
    uint8_t s = I8042_STATUS_UNLOCKED;
    if (k->obf)
        s |= I8042_STATUS_OBF | (k->out_aux ? I8042_STATUS_AUX : 0);
    if (k->ram[0] & I8042_CMD_SYS)
        s |= I8042_STATUS_SYS;
    if (k->last_was_command)
        s |= I8042_STATUS_CMD;
    return s;
}

static uint32_t port_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    struct i8042 *k = opaque;
    return port == I8042_DATA_PORT ? i8042_read_data(k) : i8042_read_status(k);
}

static void port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct i8042 *k = opaque;
    if (port == I8042_DATA_PORT)
        i8042_write_data(k, (uint8_t)val);
    else
        i8042_write_command(k, (uint8_t)val);
}

static void i8042_reset(void *opaque)
{
    struct i8042 *k = opaque;
    memset(k->ram, 0, sizeof k->ram);
    k->ram[0] = CMD_BYTE_POWER_ON;
    k->output_port = OUT_PORT_POWER_ON;
    k->pending = 0;
    k->obf = k->out_aux = k->last_was_command = k->xlate_break = false;
    queue_clear(&k->replies);
    queue_clear(&k->kbd.q);
    queue_clear(&k->mouse.q);
    kbd_defaults(&k->kbd);
    mouse_defaults(&k->mouse);
    k->mouse.id = 0;
    k->mouse.buttons = 0;
    memset(k->mouse.rate_history, 0, sizeof k->mouse.rate_history);
    update_irqs(k);
}

const char *i8042_attach(struct machine *m, struct i8042 *k, struct sysctl *sys)
{
    memset(k, 0, sizeof *k);
    k->m = m;
    k->sys = sys;
    i8042_reset(k);
    const char *why = machine_register_ports(m, I8042_DATA_PORT, 1, PORT_SIZE_8, port_read, port_write, k);
    if (!why)
        why = machine_register_ports(m, I8042_CMD_PORT, 1, PORT_SIZE_8, port_read, port_write, k);
    if (!why)
        why = machine_add_reset_hook(m, i8042_reset, k);
    return why;
}

/* ---- save / load ---- */

static void save_queue(const struct ps2_queue *q, struct snap_writer *w)
{
    snap_put_u8(w, q->count);
    for (int n = 0; n < q->count; n++)
        snap_put_u8(w, q->data[(q->head + n) % PS2_QUEUE_SIZE]);
}

static void load_queue(struct ps2_queue *q, struct snap_reader *r)
{
    uint8_t count = snap_get_u8(r);
    if (count > PS2_QUEUE_SIZE) {
        snap_fail(r, "i8042: queue longer than the device's");
        count = 0;
    }
    queue_clear(q);
    for (int n = 0; n < count; n++)
        queue_push(q, snap_get_u8(r));
}

void i8042_save(const struct i8042 *k, struct snap_writer *w)
{
    snap_put_bytes(w, k->ram, sizeof k->ram);
    const uint8_t bytes[] = {
        k->output_port, k->pending, k->out_byte, k->obf, k->out_aux, k->last_was_command, k->xlate_break,
        k->kbd.pending, k->kbd.scancode_set, k->kbd.leds, k->kbd.typematic, k->kbd.scanning,
        k->mouse.pending, k->mouse.sample_rate, k->mouse.resolution, k->mouse.rate_history[0],
        k->mouse.rate_history[1], k->mouse.rate_history[2], k->mouse.id, k->mouse.buttons,
        k->mouse.enabled, k->mouse.remote, k->mouse.scaling_2to1,
    };
    snap_put_bytes(w, bytes, sizeof bytes);
    snap_put_u32(w, (uint32_t)k->mouse.dx);
    snap_put_u32(w, (uint32_t)k->mouse.dy);
    save_queue(&k->replies, w);
    save_queue(&k->kbd.q, w);
    save_queue(&k->mouse.q, w);
}

static bool loaded_state_valid(const struct i8042 *k)
{
    const struct ps2_mouse *ms = &k->mouse;
    return (k->kbd.scancode_set == 1 || k->kbd.scancode_set == 2) && (ms->id == 0 || ms->id == 3) &&
           ms->resolution <= 3 && ms->dx >= -4096 && ms->dx <= 4096 && ms->dy >= -4096 && ms->dy <= 4096;
}

bool i8042_load(struct i8042 *k, struct snap_reader *r)
{
    struct i8042 t = *k;
    uint8_t b[23];
    snap_get_bytes(r, t.ram, sizeof t.ram);
    snap_get_bytes(r, b, sizeof b);
    t.output_port = b[0]; t.pending = b[1]; t.out_byte = b[2]; t.obf = b[3]; t.out_aux = b[4];
    t.last_was_command = b[5]; t.xlate_break = b[6];
    t.kbd.pending = b[7]; t.kbd.scancode_set = b[8]; t.kbd.leds = b[9]; t.kbd.typematic = b[10];
    t.kbd.scanning = b[11];
    t.mouse.pending = b[12]; t.mouse.sample_rate = b[13]; t.mouse.resolution = b[14];
    memcpy(t.mouse.rate_history, b + 15, 3);
    t.mouse.id = b[18]; t.mouse.buttons = b[19] & 7; t.mouse.enabled = b[20]; t.mouse.remote = b[21];
    t.mouse.scaling_2to1 = b[22];
    t.mouse.dx = (int32_t)snap_get_u32(r);
    t.mouse.dy = (int32_t)snap_get_u32(r);
    load_queue(&t.replies, r);
    load_queue(&t.kbd.q, r);
    load_queue(&t.mouse.q, r);
    if (snap_ok(r) && !loaded_state_valid(&t))
        snap_fail(r, "i8042: keyboard or mouse setting out of range");
    if (!snap_ok(r))
        return false;
    t.irq1 = k->irq1;
    t.irq12 = k->irq12;
    *k = t;
    update_irqs(k);
    return true;
}
