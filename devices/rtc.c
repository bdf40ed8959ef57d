/* rtc.c — the MC146818 RTC/CMOS (see rtc.h for what it promises).
 *
 * The time lives as seconds since 1970 (r->seconds); the time registers in
 * cmos[] are that value shown in the current format whenever SET is clear,
 * and the guest's scratch copy while SET is set. The divider chain is
 * counted in 32768 Hz ticks from chain_origin_ns; catch_up() accounts for
 * the updates and periodic edges up to "now" before every access.
 */
#include "rtc.h"

#include <string.h>
#include <time.h>

#include "machine/machine.h"
#include "machine/snapshot.h"

#define RTC_INDEX_PORT 0x70
#define RTC_DATA_PORT 0x71

#define NS_PER_SEC 1000000000ull
#define CHAIN_HZ 32768u
#define UIP_LEAD_NS 244000u
#define SECONDS_PER_DAY 86400

enum rtc_register {
    REG_SECONDS = 0x00, REG_SECONDS_ALARM = 0x01, REG_MINUTES = 0x02, REG_MINUTES_ALARM = 0x03,
    REG_HOURS = 0x04, REG_HOURS_ALARM = 0x05, REG_WEEKDAY = 0x06, REG_DAY = 0x07,
    REG_MONTH = 0x08, REG_YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C, REG_D = 0x0D,
    CMOS_SHUTDOWN = 0x0F, CMOS_FLOPPY = 0x10, CMOS_EQUIPMENT = 0x14, CMOS_BASE_MEM = 0x15,
    CMOS_EXT_MEM = 0x17, CMOS_CHECKSUM = 0x2E, CMOS_EXT_MEM2 = 0x30, REG_CENTURY = 0x32,
    CMOS_MEM_ABOVE_16M = 0x34, CMOS_BOOT_ORDER3 = 0x38, CMOS_BOOT_ORDER12 = 0x3D,
    CMOS_MEM_ABOVE_4G = 0x5B,
};

#define A_UIP 0x80
#define A_DIVIDER 0x70
#define A_DIVIDER_NORMAL 0x20   /* 32.768 kHz time base, chain running */
#define A_RATE 0x0F
#define A_POWER_ON 0x26         /* normal divider, 1024 Hz periodic rate */

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_BINARY 0x04
#define B_24H 0x02

/* Register C flags sit on the same bits as their enables in register B. */
#define C_IRQF 0x80
#define C_PF B_PIE
#define C_AF B_AIE
#define C_UF B_UIE
#define C_FLAGS (C_PF | C_AF | C_UF)

#define D_VRT 0x80
#define ALARM_DONT_CARE 0xC0
#define HOUR_PM 0x80

#define EQUIPMENT_FPU 0x02
#define EQUIPMENT_PS2_MOUSE 0x04
#define BOOT_FLOPPY 1
#define BOOT_DISK 2
#define BOOT_CDROM 3
#define BOOT_SKIP_FLOPPY_SIGNATURE 0x01
#define BASE_MEMORY_KIB 640
#define MIB (1024u * 1024u)

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

struct civil_time {
    int64_t year;
    unsigned month, day, hour, minute, second, weekday;   /* weekday 1 = Sunday */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Years counted from March so the leap day ends a 400-year era's year. */
static int64_t days_from_civil(int64_t year, unsigned month, int64_t day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = month > 2 ? month - 3 : month + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_seconds(int64_t seconds, struct civil_time *c)
{
    int64_t days = floor_div(seconds, SECONDS_PER_DAY);
    int64_t second_of_day = seconds - days * SECONDS_PER_DAY;
    c->hour = (unsigned)(second_of_day / 3600);
    c->minute = (unsigned)(second_of_day / 60 % 60);
    c->second = (unsigned)(second_of_day % 60);
    c->weekday = (unsigned)(days + 4 - floor_div(days + 4, 7) * 7) + 1;   /* 1970-01-01: Thursday */

    int64_t shifted = days + 719468;
    int64_t era = floor_div(shifted, 146097);
    int64_t day_of_era = shifted - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    c->day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    c->month = (unsigned)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    c->year = year_of_era + era * 400 + (c->month <= 2);
}

/* The registers show years 0000..9999. */
static int64_t clamp_seconds(int64_t seconds)
{
    int64_t first = days_from_civil(0, 1, 1) * SECONDS_PER_DAY;
    int64_t last = days_from_civil(10000, 1, 1) * SECONDS_PER_DAY - 1;
    return seconds < first ? first : seconds > last ? last : seconds;
}

/* ---- register formats (register B: BCD or binary, 12 or 24 hours) ---- */

static bool binary_mode(const struct rtc *r) { return r->cmos[REG_B] & B_BINARY; }

static uint8_t encode_field(const struct rtc *r, unsigned v)
{
    v %= 100;
    return binary_mode(r) ? (uint8_t)v : (uint8_t)(v / 10 << 4 | v % 10);
}

static unsigned decode_field(const struct rtc *r, uint8_t v)
{
    return binary_mode(r) ? v : (v >> 4) * 10u + (v & 0x0F);
}

static uint8_t encode_hour(const struct rtc *r, unsigned hour)
{
    if (r->cmos[REG_B] & B_24H)
        return encode_field(r, hour);
    unsigned on_dial = hour % 12 ? hour % 12 : 12;
    return (uint8_t)(encode_field(r, on_dial) | (hour >= 12 ? HOUR_PM : 0));
}

static unsigned decode_hour(const struct rtc *r, uint8_t v)
{
    if (r->cmos[REG_B] & B_24H)
        return decode_field(r, v);
    return decode_field(r, (uint8_t)(v & ~HOUR_PM)) % 12 + (v & HOUR_PM ? 12 : 0);
}

/* Writes r->seconds into the time registers in the current format. */
static void show_time(struct rtc *r)
{
    struct civil_time c;
    civil_from_seconds(r->seconds, &c);
    r->cmos[REG_SECONDS] = encode_field(r, c.second);
    r->cmos[REG_MINUTES] = encode_field(r, c.minute);
    r->cmos[REG_HOURS] = encode_hour(r, c.hour);
    r->cmos[REG_WEEKDAY] = encode_field(r, c.weekday);
    r->cmos[REG_DAY] = encode_field(r, c.day);
    r->cmos[REG_MONTH] = encode_field(r, c.month);
    r->cmos[REG_YEAR] = encode_field(r, (unsigned)(c.year % 100));
    r->cmos[REG_CENTURY] = encode_field(r, (unsigned)(c.year / 100));
}

/* Reads the time registers back into r->seconds (day of week is derived). */
static void take_time(struct rtc *r)
{
    unsigned month = decode_field(r, r->cmos[REG_MONTH]);
    month = month < 1 ? 1 : month > 12 ? 12 : month;
    int64_t year = decode_field(r, r->cmos[REG_CENTURY]) * 100 + decode_field(r, r->cmos[REG_YEAR]);
    int64_t days = days_from_civil(year, month, decode_field(r, r->cmos[REG_DAY]));
    int64_t second_of_day = decode_hour(r, r->cmos[REG_HOURS]) * 3600
                          + decode_field(r, r->cmos[REG_MINUTES]) * 60
                          + decode_field(r, r->cmos[REG_SECONDS]);
    r->seconds = clamp_seconds(days * SECONDS_PER_DAY + second_of_day);
}

/* ---- the divider chain ---- */

static bool chain_running(const struct rtc *r)
{
    return (r->cmos[REG_A] & A_DIVIDER) == A_DIVIDER_NORMAL;
}

static bool updates_enabled(const struct rtc *r)
{
    return chain_running(r) && !(r->cmos[REG_B] & B_SET);
}

static uint64_t ns_to_ticks(uint64_t ns)
{
    return ns / NS_PER_SEC * CHAIN_HZ + ns % NS_PER_SEC * CHAIN_HZ / NS_PER_SEC;
}

/* The first nanosecond at which the chain has counted `ticks`. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
    return ticks / CHAIN_HZ * NS_PER_SEC + (ticks % CHAIN_HZ * NS_PER_SEC + CHAIN_HZ - 1) / CHAIN_HZ;
}

static uint64_t chain_ticks(const struct rtc *r, uint64_t now)
{
    return now > r->chain_origin_ns ? ns_to_ticks(now - r->chain_origin_ns) : 0;
}

/* Updates that happened within the chain's first `tick` ticks. */
static uint64_t updates_by(const struct rtc *r, uint64_t tick)
{
    return tick < r->first_update_tick ? 0 : (tick - r->first_update_tick) / CHAIN_HZ + 1;
}

static uint64_t next_update_tick(const struct rtc *r, uint64_t tick)
{
    return r->first_update_tick + updates_by(r, tick) * CHAIN_HZ;
}

/* Periodic interrupt period in chain ticks (0: off). Rates 1 and 2 repeat 8 and 9. */
static uint32_t periodic_ticks(const struct rtc *r)
{
    unsigned rate = r->cmos[REG_A] & A_RATE;
    if (rate == 0)
        return 0;
    return rate <= 2 ? 1u << (rate + 6) : 1u << (rate - 1);
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

static bool alarm_matches(const struct rtc *r, int64_t seconds)
{
    int64_t second_of_day = seconds - floor_div(seconds, SECONDS_PER_DAY) * SECONDS_PER_DAY;
    return alarm_field_matches(r->cmos[REG_SECONDS_ALARM], encode_field(r, (unsigned)(second_of_day % 60)))
        && alarm_field_matches(r->cmos[REG_MINUTES_ALARM], encode_field(r, (unsigned)(second_of_day / 60 % 60)))
        && alarm_field_matches(r->cmos[REG_HOURS_ALARM], encode_hour(r, (unsigned)(second_of_day / 3600)));
}

/* `count` update cycles: the time advances, UF is set, AF if the alarm matched.
 * The alarm repeats daily, so only the last day of a long gap is compared. */
static void run_updates(struct rtc *r, uint64_t count)
{
    if (count == 0)
        return;
    r->flags |= C_UF;
    uint64_t compared = (r->flags & C_AF) ? 0 : count < SECONDS_PER_DAY ? count : SECONDS_PER_DAY;
    r->seconds = clamp_seconds(r->seconds + (int64_t)(count - compared));
    for (uint64_t k = 0; k < compared; k++) {
        r->seconds = clamp_seconds(r->seconds + 1);
        if (alarm_matches(r, r->seconds))
            r->flags |= C_AF;
    }
    show_time(r);
}

/* Accounts for every update and periodic edge of the chain up to `now`. */
static void catch_up(struct rtc *r, uint64_t now)
{
    if (!chain_running(r))
        return;
    uint64_t tick = chain_ticks(r, now);
    if (tick <= r->synced_tick)
        return;
    uint32_t period = periodic_ticks(r);
    if (period && tick / period > r->synced_tick / period)
        r->flags |= C_PF;
    if (!(r->cmos[REG_B] & B_SET))
        run_updates(r, updates_by(r, tick) - updates_by(r, r->synced_tick));
    r->synced_tick = tick;
}

/* ---- the interrupt line and its timer ---- */

static bool irq_flag(const struct rtc *r)
{
    return r->flags & r->cmos[REG_B] & C_FLAGS;
}

/* The chain tick of the next event an enabled interrupt waits for, or 0. */
static uint64_t next_interrupt_tick(const struct rtc *r)
{
    uint8_t b = r->cmos[REG_B];
    uint64_t next = 0;
    uint32_t period = periodic_ticks(r);
    if ((b & B_PIE) && period)
        next = (r->synced_tick / period + 1) * period;
    if ((b & (B_UIE | B_AIE)) && updates_enabled(r)) {
        uint64_t update = next_update_tick(r, r->synced_tick);
        next = next && next < update ? next : update;
    }
    return next;
}

/* Drives IRQ 8 from IRQF; while it is clear, arms the timer for the next
 * event that could set it (once set, only reading C can change it). */
static void settle(struct rtc *r)
{
    bool level = irq_flag(r);
    if (level != r->irq_level) {
        r->irq_level = level;
        if (level)
            machine_irq_raise(r->m, RTC_IRQ);
        else
            machine_irq_lower(r->m, RTC_IRQ);
    }
    uint64_t tick = level || !chain_running(r) ? 0 : next_interrupt_tick(r);
    if (tick)
        machine_timer_arm(r->m, &r->irq_timer, r->chain_origin_ns + ticks_to_ns(tick));
    else
        machine_timer_cancel(r->m, &r->irq_timer);
}

static void rtc_timer_fired(void *opaque)
{
    struct rtc *r = opaque;
    catch_up(r, machine_now_ns(r->m));
    settle(r);
}

/* ---- register access ---- */

static uint8_t read_reg_a(const struct rtc *r, uint64_t now)
{
    uint8_t a = r->cmos[REG_A] & ~A_UIP;
    if (updates_enabled(r)) {
        uint64_t update_ns = r->chain_origin_ns + ticks_to_ns(next_update_tick(r, r->synced_tick));
        if (update_ns <= now + UIP_LEAD_NS)
            a |= A_UIP;
    }
    return a;
}

static uint8_t read_register(struct rtc *r, uint8_t index, uint64_t now)
{
    switch (index) {
    case REG_A:
        return read_reg_a(r, now);
    case REG_C: {
        uint8_t c = (uint8_t)(r->flags | (irq_flag(r) ? C_IRQF : 0));
        r->flags = 0;
        return c;
    }
    case REG_D:
        return D_VRT;
    default:
        return r->cmos[index];
    }
}

static void write_reg_a(struct rtc *r, uint8_t v, uint64_t now)
{
    bool was_running = chain_running(r);
    r->cmos[REG_A] = v & ~A_UIP;
    if (!was_running && chain_running(r)) {
        r->chain_origin_ns = now;
        r->synced_tick = 0;
        r->first_update_tick = CHAIN_HZ / 2;
    }
}

/* Setting SET stops updates (and clears UIE); clearing it takes the time
 * the guest wrote. A changed format shows at once. */
static void write_reg_b(struct rtc *r, uint8_t v)
{
    bool was_set = r->cmos[REG_B] & B_SET;
    if (v & B_SET)
        v &= (uint8_t)~B_UIE;
    r->cmos[REG_B] = v;
    if (v & B_SET)
        return;
    if (was_set)
        take_time(r);
    show_time(r);
}

static void write_time_register(struct rtc *r, uint8_t index, uint8_t v)
{
    r->cmos[index] = v;
    if (r->cmos[REG_B] & B_SET)
        return;
    take_time(r);
    show_time(r);
}

static void write_register(struct rtc *r, uint8_t index, uint8_t v, uint64_t now)
{
    switch (index) {
    case REG_A:
        write_reg_a(r, v, now);
        break;
    case REG_B:
        write_reg_b(r, v);
        break;
    case REG_C:
    case REG_D:
        break;
    case REG_SECONDS: case REG_MINUTES: case REG_HOURS: case REG_WEEKDAY:
    case REG_DAY: case REG_MONTH: case REG_YEAR: case REG_CENTURY:
        write_time_register(r, index, v);
        break;
    default:
        r->cmos[index] = v;
    }
}

uint32_t rtc_port_read(void *opaque, uint16_t port, int size)
{
    struct rtc *r = opaque;
    (void)size;
    if (port == RTC_INDEX_PORT)
        return 0xFF;   /* the index register is write-only */
    uint64_t now = machine_now_ns(r->m);
    catch_up(r, now);
    uint8_t v = read_register(r, r->index, now);
    settle(r);
    return v;
}

void rtc_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct rtc *r = opaque;
    (void)size;
    if (port == RTC_INDEX_PORT) {
        r->index = val & (RTC_CMOS_SIZE - 1);
        r->nmi_masked = val & 0x80;
        return;
    }
    uint64_t now = machine_now_ns(r->m);
    catch_up(r, now);
    write_register(r, r->index, (uint8_t)val, now);
    settle(r);
}

/* ---- set-up, reset, save and load ---- */

static void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t cap16(uint32_t v) { return v > 0xFFFF ? 0xFFFF : v; }

/* What a BIOS reads from CMOS: memory sizes, equipment, boot order, checksum. */
static void fill_bios_bytes(struct rtc *r, uint32_t ram_size)
{
    uint32_t ext_kib = ram_size > MIB ? cap16((ram_size - MIB) / 1024) : 0;
    uint32_t above_16m = ram_size > 16 * MIB ? cap16((ram_size - 16 * MIB) / 65536) : 0;
    r->cmos[CMOS_SHUTDOWN] = 0;
    r->cmos[CMOS_FLOPPY] = 0;
    r->cmos[CMOS_EQUIPMENT] = EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE;
    put_le16(&r->cmos[CMOS_BASE_MEM], BASE_MEMORY_KIB);
    put_le16(&r->cmos[CMOS_EXT_MEM], ext_kib);
    put_le16(&r->cmos[CMOS_EXT_MEM2], ext_kib);
    put_le16(&r->cmos[CMOS_MEM_ABOVE_16M], above_16m);
    memset(&r->cmos[CMOS_MEM_ABOVE_4G], 0, 3);
    r->cmos[CMOS_BOOT_ORDER12] = BOOT_DISK | BOOT_CDROM << 4;
    r->cmos[CMOS_BOOT_ORDER3] = BOOT_FLOPPY << 4 | BOOT_SKIP_FLOPPY_SIGNATURE;
    uint32_t sum = 0;
    for (int k = CMOS_FLOPPY; k < CMOS_CHECKSUM; k++)
        sum += r->cmos[k];
    r->cmos[CMOS_CHECKSUM] = (uint8_t)(sum >> 8);   /* big-endian, as AT BIOSes keep it */
    r->cmos[CMOS_CHECKSUM + 1] = (uint8_t)sum;
}

int64_t rtc_default_start_time(bool deterministic)
{
    return deterministic ? RTC_DETERMINISTIC_EPOCH : (int64_t)time(NULL);
}

void rtc_init(struct rtc *r, struct machine *m, int64_t start_time, uint32_t ram_size)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    timer_init(&r->irq_timer, rtc_timer_fired, r);
    r->cmos[REG_A] = A_POWER_ON;
    r->cmos[REG_B] = B_24H;
    r->seconds = clamp_seconds(start_time);
    r->chain_origin_ns = machine_now_ns(m);
    r->first_update_tick = CHAIN_HZ;
    fill_bios_bytes(r, ram_size);
    show_time(r);
}

const char *rtc_attach(struct machine *m, struct rtc *r, int64_t start_time, uint32_t ram_size)
{
    rtc_init(r, m, start_time, ram_size);
    const char *why = machine_register_ports(m, RTC_INDEX_PORT, 2, PORT_SIZE_8, rtc_port_read, rtc_port_write, r);
    return why ? why : machine_add_reset_hook(m, rtc_reset, r);
}

void rtc_reset(void *opaque)
{
    struct rtc *r = opaque;
    catch_up(r, machine_now_ns(r->m));
    r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
    r->flags = 0;
    settle(r);
}

void rtc_save(const struct rtc *r, struct snap_writer *w)
{
    snap_put_bytes(w, r->cmos, sizeof r->cmos);
    snap_put_u8(w, r->index);
    snap_put_bool(w, r->nmi_masked);
    snap_put_u8(w, r->flags);
    snap_put_u64(w, (uint64_t)r->seconds);
    snap_put_u64(w, r->chain_origin_ns);
    snap_put_u64(w, r->synced_tick);
    snap_put_u32(w, r->first_update_tick);
}

bool rtc_load(struct rtc *r, struct snap_reader *rd)
{
    struct rtc s = *r;
    snap_get_bytes(rd, s.cmos, sizeof s.cmos);
    s.index = snap_get_u8(rd);
    s.nmi_masked = snap_get_bool(rd);
    s.flags = snap_get_u8(rd);
    s.seconds = (int64_t)snap_get_u64(rd);
    s.chain_origin_ns = snap_get_u64(rd);
    s.synced_tick = snap_get_u64(rd);
    s.first_update_tick = snap_get_u32(rd);
    if (snap_ok(rd) && (s.index >= RTC_CMOS_SIZE || (s.flags & ~C_FLAGS) || (s.cmos[REG_A] & A_UIP)
                        || s.first_update_tick < 1 || s.first_update_tick > CHAIN_HZ
                        || s.seconds != clamp_seconds(s.seconds)))
        snap_fail(rd, "RTC state out of range");
    if (!snap_ok(rd))
        return false;
    *r = s;
    r->irq_level = !irq_flag(r);   /* forces settle() to drive the line */
    settle(r);
    return true;
}
