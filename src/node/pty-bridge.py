"""Creates a pseudo-terminal for a simulator written in Node, which has no openpty().

stdin  -> bytes to send to whoever opens the slave
stdout <- bytes the client wrote
fd 3   <- events, one per line: "PTY <path>", "open", "close"

A client opening the slave is reported as "open": that is how a simulated Uno sees the DTR
auto-reset a real USB-serial adapter would give it (a PTY has no DTR).
"""
import os
import select
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

while True:
    ready = dict(poller.poll(1000))
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
            out.write(data)
            out.flush()
    elif not hup and not client_open:
        # POLLHUP cleared with no data yet: a client has just opened the slave.
        client_open = True
        events.write("open\n")
    if hup and not client_open:
        # poll() keeps returning POLLHUP until someone opens the slave: wait instead of spinning.
        time.sleep(0.005)
    if ready.get(stdin_fd, 0) & (select.POLLIN | select.POLLHUP):
        data = os.read(stdin_fd, 4096)
        if not data:
            break
        try:
            os.write(master, data)
        except OSError:
            pass  # no client: the bytes go nowhere, as on an unplugged cable
