/* demo.h — the built-in demo guest program (plan86 --demo).
 *
 * Promises: demo_load maps a 4 KiB ROM at the top of the 4 GiB space whose
 * reset vector switches to 32-bit protected mode, prints DEMO_BANNER and the
 * first DEMO_FIB_COUNT Fibonacci numbers (decimal, space separated, then a
 * newline) on the debug console port 0xE9, and halts with interrupts off.
 */
#ifndef PLAN86_DEMO_H
#define PLAN86_DEMO_H

struct machine;

#define DEMO_BANNER "plan86 demo: Fibonacci numbers computed in 32-bit protected mode\n"
#define DEMO_FIB_COUNT 30

/* NULL on success, else why the ROM could not be mapped. */
const char *demo_load(struct machine *m);

#endif
