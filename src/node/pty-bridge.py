"""Creates a pseudo-terminal for a simulator written in Node, which has no openpty().

stdin  -> bytes to send to whoever opens the slave
stdout <- frames, in the order things happened on the line: b"D" + u32le length + bytes the client
          wrote, or b"B" + u32le length + the client's baud rate in ASCII (sent when it changes, before
          the bytes written at the new rate), so the simulated wire runs at the rate the client chose
fd 3   <- events, one per line: "PTY <path>", "open", "close"

Exits when stdin closes (the Node host ended, however it ended).

A client opening the slave is reported as "open": that is how a simulated Uno sees the DTR
auto-reset a real USB-serial adapter would give it (a PTY has no DTR).
"""
import os
import select
import struct
import sys
import termios
import time
import tty

master, slave = os.openpty()
tty.setraw(slave)
attrs = termios.tcgetattr(slave)
attrs[3] &= ~termios.ECHO
termios.tcsetattr(slave, termios.TCSANOW, attrs)
events = os.fdopen(3, "w", buffering=1)
events.write("PTY %s\n" % os.ttyname(slave))
# Without our own slave fd, the master reports POLLHUP exactly while no client has the slave open.
os.close(slave)

poller = select.poll()
poller.register(master, select.POLLIN | select.POLLHUP)
poller.register(0, select.POLLIN)
client_open = False
stdin_fd = 0
out = sys.stdout.buffer
# termios speed constants (B57600 = 0o10001 on Linux) back to bits per second.
SPEEDS = {getattr(termios, n): int(n[1:]) for n in dir(termios) if n.startswith("B") and n[1:].isdigit()}
speed = None


def frame(kind, payload):
    out.write(kind + struct.pack("<I", len(payload)) + payload)
    out.flush()


def check_speed():
    """The master sees the slave's termios: report the client's rate when it changes."""
    global speed
    try:
        now = SPEEDS.get(termios.tcgetattr(master)[5])
    except termios.error:
        return
    if now is not None and now != speed:
        speed = now
        frame(b"B", str(now).encode())

def serve():
    global client_open
    while True:
        # While a client is connected, look at its rate often enough to follow a change it makes silently.
        # Until one is, wake often too: an open shows only as POLLHUP going away, and a long poll would
        # report it together with the client's first bytes, which the reset would then swallow.
        ready = dict(poller.poll(20 if client_open else 5))
        if client_open:
            check_speed()
        master_ev = ready.get(master, 0)
        hup = bool(master_ev & select.POLLHUP)
        if hup and client_open:
            client_open = False
            events.write("close\n")
        if master_ev & select.POLLIN:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            if data:
                if not client_open:
                    client_open = True
                    events.write("open\n")
                check_speed()
                frame(b"D", data)
        elif not hup and not client_open:
            # POLLHUP cleared with no data yet: a client has just opened the slave.
            client_open = True
            check_speed()
            events.write("open\n")
        if hup and not client_open:
            # poll() keeps returning POLLHUP until someone opens the slave: wait instead of spinning.
            time.sleep(0.005)
        if ready.get(stdin_fd, 0) & (select.POLLIN | select.POLLHUP):
            data = os.read(stdin_fd, 4096)
            if not data:
                return
            try:
                check_speed()
                os.write(master, data)
            except OSError:
                pass  # no client: the bytes go nowhere, as on an unplugged cable


try:
    serve()
except (BrokenPipeError, KeyboardInterrupt):
    pass  # the host went away: nothing left to serve
