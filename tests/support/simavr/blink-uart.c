/*
 * blink-uart: the smallest application that proves a flash write worked.
 *
 * After any reset it prints "webprog-app-ok <APP_ID>\r\n" on USART0 at
 * 115200 baud 8N1, every 100 ms, forever. Tests flash it through a
 * bootloader, reopen the port and wait for that line; APP_ID (a build-time
 * number) tells two builds apart, so a test can see that the *new* image runs.
 *
 * Between lines the CPU sleeps (idle mode, woken by Timer1), so a simulator
 * running it in real time skips the idle cycles instead of emulating a busy
 * loop.
 *
 * Build: avr-gcc -Os -mmcu=atmega328p -DF_CPU=16000000UL -DAPP_ID=1 \
 *          blink-uart.c -o blink-uart.elf
 *        avr-objcopy -O ihex -R .eeprom blink-uart.elf blink-uart.hex
 * (tests/support/simavr/build.sh does this.)
 *
 * With -DPAD_BYTES=N (and the generated pad.h beside it) the image carries N
 * bytes of pseudo-random data in flash; the application sums them at start
 * and appends " pad-ok" or " pad-bad" to its line, so a large image proves
 * itself byte for byte, not only its first pages. It also builds for the
 * ATmega2560, whose USART0 and Timer1 have the same registers.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#ifndef APP_ID
#define APP_ID 1
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

/* 16 MHz / (8 * (16 + 1)) = 117647 baud, 2.1% off 115200: the same U2X
 * setting optiboot and the Arduino core use, so both sides agree. */
#define UBRR_115200_U2X 16
/* 16 MHz / 64 / 25000 = 10 Hz. */
#define TICKS_100MS 24999

#ifdef PAD_BYTES
#include <avr/pgmspace.h>
/* pad0..pad3, PAD_BYTES / 4 each (an AVR object is at most 32 KiB), and PAD_SUM. */
#include "pad.h"
#define PAD_NOTE pad_check()
static uint16_t sum_far(uint_farptr_t at)
{
	uint16_t sum = 0;
	for (uint16_t i = 0; i < PAD_BYTES / 4; i++)
		sum += pgm_read_byte_far(at + i);
	return sum;
}
/* The sum of every pad byte, read with ELPM so it reaches past 64 KiB. */
static const char *pad_check(void)
{
	uint16_t sum = sum_far(pgm_get_far_address(pad0)) + sum_far(pgm_get_far_address(pad1)) +
		sum_far(pgm_get_far_address(pad2)) + sum_far(pgm_get_far_address(pad3));
	return sum == PAD_SUM ? " pad-ok" : " pad-bad";
}
#else
#define PAD_NOTE ""
#endif

static volatile uint8_t tick;

ISR(TIMER1_COMPA_vect) { tick = 1; }

static void putch(char c)
{
	while (!(UCSR0A & _BV(UDRE0)))
		;
	UDR0 = c;
}

int main(void)
{
	/* optiboot leaves by a watchdog reset and clears MCUSR itself, but a
	 * watchdog left running by anything else must not reset us. */
	MCUSR = 0;
	wdt_disable();

	UCSR0A = _BV(U2X0);
	UBRR0H = 0;
	UBRR0L = UBRR_115200_U2X;
	UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);	/* 8N1 */
	UCSR0B = _BV(TXEN0);

	OCR1A = TICKS_100MS;
	TCCR1B = _BV(WGM12) | _BV(CS11) | _BV(CS10);	/* CTC, clk/64 */
	TIMSK1 = _BV(OCIE1A);
	set_sleep_mode(SLEEP_MODE_IDLE);
	sei();

	const char *note = PAD_NOTE;
	for (;;) {
		for (const char *s = "webprog-app-ok " STR(APP_ID); *s; s++)
			putch(*s);
		for (const char *s = note; *s; s++)
			putch(*s);
		putch('\r');
		putch('\n');
		while (!tick)
			sleep_mode();
		tick = 0;
	}
}
