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

	for (;;) {
		for (const char *s = "webprog-app-ok " STR(APP_ID) "\r\n"; *s; s++)
			putch(*s);
		while (!tick)
			sleep_mode();
		tick = 0;
	}
}
