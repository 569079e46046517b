/*
 * host: a real AVR bootloader running in simavr, behind a pseudo-terminal.
 *
 *   host --mcu atmega328p --freq 16000000 --boot optiboot.hex [--app app.hex]
 *
 * The first line on stdout is "PTY /dev/pts/N"; open that path as a serial
 * port. Like an Arduino Uno, whose DTR line resets the MCU when a host opens
 * the port, every open of the pty resets the MCU as an external reset (EXTRF),
 * which is the only reset after which optiboot stays in the bootloader. The
 * port speaks at whatever baud the firmware set; bytes travel no faster than
 * that baud allows, and the core runs in real time, so bootloader timeouts
 * behave as on hardware. SIGTERM or SIGINT stop it, and so does the exit of
 * the process that started it.
 *
 * Build (build.sh beside this file does it):
 *   gcc -O2 -I/usr/include/simavr host.c -lsimavr -lutil
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_cycle_timers.h>
#include <sim_io.h>
#include <sim_irq.h>

/* The core runs in slices, at most one slice ahead of the wall clock. Bytes
 * it sends are written out after each slice, and bytes that arrive are fed
 * in at the core's time, so a slice adds up to its length to every turn of
 * a request/response protocol. Short slices while bytes flow keep that well
 * under the wire time; longer ones while idle save wakeups. */
#define SLICE_BUSY_NS 250000LL
#define SLICE_IDLE_NS 1000000LL
#define BUSY_FOR_NS 50000000LL
/* Further behind than this (host starved, or the core was stopped), the
 * core does not race to catch up: it carries on from now. */
#define MAX_LAG_NS 20000000LL

struct ring {
	uint8_t b[4096];
	unsigned r, w;	/* free-running; w - r bytes are held */
};
static unsigned ring_len(const struct ring *q) { return q->w - q->r; }
static unsigned ring_room(const struct ring *q) { return sizeof q->b - ring_len(q); }
static void ring_put(struct ring *q, uint8_t v) { q->b[q->w++ % sizeof q->b] = v; }
static uint8_t ring_get(struct ring *q) { return q->b[q->r++ % sizeof q->b]; }

static avr_t *avr;
static avr_uart_t *uart;	/* USART0 */
static avr_irq_t *uart_in;
static int master = -1;
static int opens = -1;		/* inotify watch on the slave: its opens */
static int client_open;		/* someone has the slave side open */
static int uart_full;		/* simavr's XOFF: the UART's input fifo is full */
static struct ring from_pty, to_pty;
static uint64_t last_traffic_ns;
static int clock_restart;	/* the core's time starts again from now */
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

/* Cycles one frame takes on the wire at the UART's current settings:
 * start + data + parity + stop bits. */
static avr_cycle_count_t frame_cycles(void)
{
	unsigned ubrr = avr_regbit_get(avr, uart->ubrrl) | avr_regbit_get(avr, uart->ubrrh) << 8;
	unsigned bit = (ubrr + 1) * (avr_regbit_get(avr, uart->u2x) ? 8 : 16);
	unsigned data = avr_regbit_get(avr, uart->ucsz2) ? 9 : 5 + avr_regbit_get(avr, uart->ucsz);
	/* simavr does not describe UPMn; it is bits 5:4 of UCSRnC on every megaAVR. */
	unsigned parity = (avr->data[uart->r_ucsrc] >> 4 & 3) != 0;
	unsigned stop_bits = 1 + avr_regbit_get(avr, uart->usbs);
	return (avr_cycle_count_t)bit * (1 + data + parity + stop_bits);
}

/* simavr 1.6 counts a parity bit in every frame (8N1 as 11 bits) when the
 * firmware writes UBRRnL, and paces both its receiver and transmitter by
 * that. Correct it after every write to a register that sets the frame. */
static void uart_config_written(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq, (void)value, (void)param;
	uart->cycles_per_byte = frame_cycles();
}

/* A byte the AVR transmitted. Nobody listening means it is lost, as on a
 * wire; buffering it would hand stale bytes to the next client. */
static void uart_output(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq, (void)param;
	if (client_open && ring_room(&to_pty))
		ring_put(&to_pty, value);
}

static void uart_xoff(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq, (void)param;
	uart_full = value;
}

/* The wire into the AVR: one byte per frame time. A byte that arrives while
 * the receiver is off is lost, as on hardware. While the UART's fifo is full
 * (the firmware does not read) bytes wait, the flow control simavr's uart_pty
 * uses; it only comes into play if the firmware stops reading. */
static avr_cycle_count_t feed_wire(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)param;
	if (!ring_len(&from_pty))
		return 0;
	if (!avr_regbit_get(a, uart->rxen))
		ring_get(&from_pty);
	else if (!uart_full)
		avr_raise_irq(uart_in, ring_get(&from_pty));
	return when + uart->cycles_per_byte;
}

/* The reset a Uno gets from DTR when a host opens its port. avr_reset()
 * clears MCUSR, so the reason is set afterwards, as hardware latches it. */
static void external_reset(void)
{
	avr_reset(avr);
	avr_regbit_set(avr, avr->reset_flags.extrf);
}

/* Sleeping is just cycles passing: the main loop keeps time, so simavr must
 * not usleep() on its own. */
static void no_sleep(avr_t *a, avr_cycle_count_t how_long) { (void)a, (void)how_long; }

/* simavr moves a sleeping core straight to its next cycle timer, which can be
 * 100 ms away; the core would then sit that far ahead of the wall clock, deaf
 * to the pty. This timer keeps each such step within a short slice. */
static avr_cycle_count_t tick(avr_t *a, avr_cycle_count_t when, void *param)
{
	(void)param;
	return when + (avr_cycle_count_t)((double)SLICE_BUSY_NS * a->frequency / 1e9);
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static int hexbyte(const char *p)
{
	int v = 0;
	for (int i = 0; i < 2; i++) {
		int c = p[i] | 0x20;	/* lower case; digits are unaffected */
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* Loads an Intel HEX file into flash; returns its lowest address, or -1.
 * (simavr's reader rejects long records and complains about start-address
 * records, which avr-objcopy writes.) */
static long load_hex(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	char line[1024];
	uint32_t base = 0;
	long lowest = -1;
	int lineno = 0, done = 0;
	while (!done && fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strcspn(line, "\r\n");
		if (len == 0)
			continue;
		uint8_t rec[260];
		size_t n = 0;
		int sum = 0;
		if (line[0] != ':' || len % 2 == 0 || len / 2 > sizeof rec)
			goto bad;
		for (size_t i = 1; i < len; i += 2) {
			int v = hexbyte(line + i);
			if (v < 0)
				goto bad;
			rec[n++] = v;
			sum += v;
		}
		if (n < 5 || n != rec[0] + 5u || (sum & 0xff))
			goto bad;
		uint32_t addr = base + (rec[1] << 8 | rec[2]);
		switch (rec[3]) {
		case 0:
			if (addr + rec[0] > avr->flashend + 1) {
				fprintf(stderr, "%s:%d: data at 0x%x is past the end of flash\n", path, lineno, addr);
				fclose(f);
				return -1;
			}
			memcpy(avr->flash + addr, rec + 4, rec[0]);
			if (rec[0] && (lowest < 0 || addr < lowest))
				lowest = addr;
			break;
		case 1: done = 1; break;
		case 2: base = (rec[4] << 8 | rec[5]) << 4; break;
		case 4: base = (uint32_t)(rec[4] << 8 | rec[5]) << 16; break;
		default: break;	/* 3, 5: start address, meaningless here */
		}
	}
	fclose(f);
	if (lowest < 0)
		fprintf(stderr, "%s: no data\n", path);
	return lowest;
bad:
	fprintf(stderr, "%s:%d: not an Intel HEX record\n", path, lineno);
	fclose(f);
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: host --mcu atmega328p --freq 16000000 --boot boot.hex [--app app.hex]\n");
	exit(2);
}

/* A client opened the slave, left it, or both. Each open resets the MCU. */
static void client_changed(int opened, int present)
{
	client_open = present;
	from_pty.r = from_pty.w;
	to_pty.r = to_pty.w;
	if (opened) {
		/* Bytes a previous client left unread, or that this one sent before
		 * the reset, would be lost on hardware too. */
		tcflush(master, TCIOFLUSH);
		external_reset();
		clock_restart = 1;	/* the reset happens now, not where the core had got to */
	}
}

/* Drains the inotify queue; true if the slave was opened since last time. */
static int slave_opened(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int opened = 0;
	while (read(opens, buf, sizeof buf) > 0)
		opened = 1;	/* IN_OPEN is the only event watched */
	return opened;
}

/* Sleeps until the deadline, or until the client opens, leaves or sends.
 *
 * Presence: while no one has the slave open, the master reports POLLHUP (and
 * reads fail with EIO). Opens: inotify reports each one, even a close and
 * reopen too quick to ever show POLLHUP; without inotify, POLLHUP clearing
 * is the sign. The master is left out of the wait while it reports POLLHUP,
 * which never blocks. */
static void wait_for_pty(uint64_t deadline)
{
	uint64_t t = now_ns();
	uint64_t left = deadline > t ? deadline - t : 0;
	struct timespec ts = { left / 1000000000u, left % 1000000000u };
	struct pollfd p[2] = {
		{ opens, POLLIN, 0 },
		{ client_open ? master : -1, POLLIN | (ring_len(&to_pty) ? POLLOUT : 0), 0 },
	};
	if (ppoll(p, 2, &ts, NULL) < 0)
		return;	/* EINTR: a signal */

	struct pollfd m = { master, POLLIN, 0 };
	poll(&m, 1, 0);
	int present = !(m.revents & POLLHUP);
	int opened = opens >= 0 ? slave_opened() : present && !client_open;
	if (opened || present != client_open)
		client_changed(opened, present);

	if (present && (m.revents & POLLIN)) {
		uint8_t buf[sizeof from_pty.b];
		ssize_t n = read(master, buf, ring_room(&from_pty));
		for (ssize_t i = 0; i < n; i++)
			ring_put(&from_pty, buf[i]);
		if (n > 0)
			last_traffic_ns = now_ns();
	}
}

static void flush_to_pty(void)
{
	while (client_open && ring_len(&to_pty)) {
		unsigned at = to_pty.r % sizeof to_pty.b;
		unsigned chunk = ring_len(&to_pty);
		if (chunk > sizeof to_pty.b - at)
			chunk = sizeof to_pty.b - at;
		ssize_t n = write(master, to_pty.b + at, chunk);
		if (n <= 0)
			return;	/* EAGAIN: the client is not reading; EIO: it left */
		to_pty.r += n;
		last_traffic_ns = now_ns();
	}
}

int main(int argc, char **argv)
{
	const char *mcu = NULL, *boot = NULL, *app = NULL;
	unsigned long freq = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mcu")) mcu = argv[i + 1];
		else if (!strcmp(argv[i], "--freq")) freq = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--boot")) boot = argv[i + 1];
		else if (!strcmp(argv[i], "--app")) app = argv[i + 1];
		else usage();
	}
	if (argc % 2 == 0 || !mcu || !freq || !boot)
		usage();

	/* Do not outlive the test runner that started us (checked once more in
	 * case it was gone before the prctl). */
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;

	avr = avr_make_mcu_by_name(mcu);
	if (!avr) {
		fprintf(stderr, "host: unknown mcu %s\n", mcu);
		return 1;
	}
	avr_init(avr);
	avr->frequency = freq;
	avr->sleep = no_sleep;

	if (app && load_hex(app) < 0)
		return 1;
	long boot_at = load_hex(boot);
	if (boot_at < 0)
		return 1;
	avr->reset_pc = boot_at;	/* BOOTRST programmed */

	for (avr_io_t *io = avr->io_port; io; io = io->next)
		if (!strcmp(io->kind, "uart") && ((avr_uart_t *)io)->name == '0')
			uart = (avr_uart_t *)io;
	if (!uart) {
		fprintf(stderr, "host: %s has no UART0\n", mcu);
		return 1;
	}
	/* Poll-sleep usleep()s on every status read and slows a polling
	 * bootloader to a fraction of real time; stdio would print its bytes. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_output, NULL);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), uart_xoff, NULL);
	avr_io_addr_t frame_regs[] = { uart->r_ucsra, uart->r_ucsrb, uart->r_ucsrc, uart->ubrrl.reg, uart->ubrrh.reg };
	for (size_t i = 0; i < sizeof frame_regs / sizeof frame_regs[0]; i++)
		if (frame_regs[i])
			avr_irq_register_notify(avr_iomem_getirq(avr, frame_regs[i], NULL, AVR_IOMEM_IRQ_ALL),
						uart_config_written, NULL);

	int slave;
	char name[64];
	struct termios tio;
	if (openpty(&master, &slave, name, NULL, NULL) < 0) {
		perror("openpty");
		return 1;
	}
	/* On a pty master, termios calls set the slave's line discipline. */
	tcgetattr(master, &tio);
	cfmakeraw(&tio);
	tcsetattr(master, TCSANOW, &tio);
	close(slave);	/* from now on POLLHUP means "no client" */
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	opens = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (opens >= 0 && inotify_add_watch(opens, name, IN_OPEN) < 0) {
		close(opens);
		opens = -1;
	}

	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: wake ppoll */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("PTY %s\n", name);
	fflush(stdout);

	avr_reset(avr);
	avr_regbit_set(avr, avr->reset_flags.porf);	/* power on: optiboot starts the app */

	uint64_t base_ns = now_ns();
	avr_cycle_count_t base_cycle = avr->cycle;
	int was_stopped = 0;
	while (!stop) {
		uint64_t t = now_ns();
		int64_t slice = t - last_traffic_ns < BUSY_FOR_NS ? SLICE_BUSY_NS : SLICE_IDLE_NS;
		int running = avr->state == cpu_Running || avr->state == cpu_Sleeping;
		if (running) {
			avr_cycle_count_t target = base_cycle +
				(avr_cycle_count_t)((double)(t - base_ns + slice) * freq / 1e9);
			if (clock_restart ||
					target > avr->cycle + (avr_cycle_count_t)((double)MAX_LAG_NS * freq / 1e9)) {
				clock_restart = 0;
				base_ns = t;
				base_cycle = avr->cycle;
				target = avr->cycle + (avr_cycle_count_t)((double)slice * freq / 1e9);
			}
			/* A reset, even the watchdog's, cancels all cycle timers. */
			if (!avr_cycle_timer_status(avr, tick, NULL))
				avr_cycle_timer_register(avr, 1, tick, NULL);
			if (ring_len(&from_pty) && !avr_cycle_timer_status(avr, feed_wire, NULL))
				avr_cycle_timer_register(avr, 1, feed_wire, NULL);
			while (avr->cycle < target &&
					(avr->state == cpu_Running || avr->state == cpu_Sleeping))
				avr_run(avr);
		} else if (!was_stopped) {
			fprintf(stderr, "host: the AVR stopped at pc 0x%04x; waiting for the next open of the pty\n", avr->pc);
		}
		was_stopped = !running;
		flush_to_pty();
		wait_for_pty(t + slice);
	}
	close(master);
	avr_terminate(avr);
	return 0;
}
