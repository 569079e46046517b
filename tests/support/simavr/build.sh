#!/usr/bin/env bash
# Builds the simavr test peer: a real optiboot running in simavr behind a pty.
#
#   tests/support/simavr/build.sh [OUT_DIR]     (default: tests/.cache/simavr)
#
# Outputs in OUT_DIR:
#   host                     the simulator host (see host.c)
#   optiboot_atmega328.hex   optiboot 4.4 for an Uno, built from Debian's source
#   blink-uart.hex           test app printing "webprog-app-ok 1" (blink-uart.c)
#   blink-uart-2.hex         the same, printing "webprog-app-ok 2"
#   stk500boot_v2_mega2560.hex  the Arduino Mega 2560 bootloader, as Debian ships it
#   blink-mega.hex           the test app for the ATmega2560, "webprog-app-ok 3"
#   blink-mega-big.hex       the same with 118 KiB of data it checks, "webprog-app-ok 4 pad-ok"
#
# Needs only Debian packages: gcc libc6-dev libsimavr-dev gcc-avr binutils-avr
# avr-libc arduino-core-avr. Rebuilds an output only when it is older than its
# inputs (or this script); safe to run again and from parallel test workers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/tests/.cache/simavr}
self="$here/build.sh"
optiboot_src=/usr/share/arduino/hardware/arduino/avr/bootloaders/optiboot
mega_boot=/usr/share/arduino/hardware/arduino/avr/bootloaders/stk500v2/stk500boot_v2_mega2560.hex

missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package $2)"); }
need_file() { [ -e "$1" ] || missing+=("$1 (Debian package $2)"); }
need_cmd gcc gcc
need_cmd avr-gcc gcc-avr
need_cmd avr-objcopy binutils-avr
need_cmd avr-size binutils-avr
need_file /usr/include/simavr/sim_avr.h libsimavr-dev
need_file /usr/lib/avr/include/avr/io.h avr-libc
need_file "$optiboot_src/optiboot.c" arduino-core-avr
need_file "$mega_boot" arduino-core-avr
if [ ${#missing[@]} -gt 0 ]; then
	echo "build.sh: cannot build the simavr peer, missing:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	echo "install with: apt-get install -y gcc libsimavr-dev gcc-avr binutils-avr avr-libc arduino-core-avr" >&2
	exit 1
fi

mkdir -p "$out"
# The cache is never committed, whatever the project's .gitignore says.
[ -e "$out/.gitignore" ] || echo '*' > "$out/.gitignore"

# stale OUTPUT INPUT... : true if OUTPUT is missing or older than an input.
stale() {
	local target=$1 input
	shift
	[ -e "$target" ] || return 0
	for input in "$@" "$self"; do
		[ "$input" -nt "$target" ] && return 0
	done
	return 1
}

# Every output is written to a private temporary name and renamed into place,
# so a reader never sees a half-written file, even with builds racing.
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if stale "$out/host" "$here/host.c"; then
	# Plain -lsimavr: `pkg-config simavr` fails unless libelf-dev is installed
	# (simavr.pc requires libelf.pc), and the host uses no ELF loading.
	gcc -std=gnu11 -O2 -Wall -Wextra -I/usr/include/simavr \
		-o "$tmp/host" "$here/host.c" -lsimavr -lutil
	mv -f "$tmp/host" "$out/host"
	echo "built $out/host"
fi

opti="$out/optiboot_atmega328.hex"
if stale "$opti" "$optiboot_src"/optiboot.c "$optiboot_src"/*.h; then
	# Debian's prebuilt optiboot_atmega328.hex runs past the end of flash when
	# rebuilt with avr-gcc 5.4; without the LED flashes it is 496 bytes.
	avr-gcc -Os -fno-inline-small-functions -fno-split-wide-types -mrelax \
		-mmcu=atmega328p -DF_CPU=16000000L -DLED_START_FLASHES=0 -DBAUD_RATE=115200 \
		-Wl,--section-start=.text=0x7e00 -Wl,--section-start=.version=0x7ffe \
		-Wl,--relax -Wl,--gc-sections -nostartfiles -nostdlib \
		-I"$optiboot_src" -o "$tmp/optiboot.elf" "$optiboot_src/optiboot.c"
	# .text must end before the version word at 0x7ffe.
	text=$(avr-size -A "$tmp/optiboot.elf" | awk '$1 == ".text" { print $2 }')
	if [ "$text" -gt $((0x7ffe - 0x7e00)) ]; then
		echo "build.sh: optiboot .text is $text bytes, more than the 510 that fit below 0x7ffe" >&2
		exit 1
	fi
	avr-objcopy -j .text -j .data -j .version --set-section-flags .version=alloc,load \
		-O ihex "$tmp/optiboot.elf" "$tmp/optiboot.hex"
	mv -f "$tmp/optiboot.hex" "$opti"
	echo "built $opti ($text bytes)"
fi

for id in 1 2; do
	hex="$out/blink-uart.hex"
	[ "$id" = 1 ] || hex="$out/blink-uart-$id.hex"
	if stale "$hex" "$here/blink-uart.c"; then
		avr-gcc -Os -Wall -Wextra -mmcu=atmega328p -DF_CPU=16000000UL -DAPP_ID="$id" \
			-o "$tmp/app.elf" "$here/blink-uart.c"
		avr-objcopy -O ihex -R .eeprom "$tmp/app.elf" "$tmp/app.hex"
		mv -f "$tmp/app.hex" "$hex"
		echo "built $hex"
	fi
done

# The Mega bootloader is used as Debian ships it: it works on simavr's atmega2560.
if stale "$out/stk500boot_v2_mega2560.hex" "$mega_boot"; then
	cp "$mega_boot" "$tmp/mega.hex"
	mv -f "$tmp/mega.hex" "$out/stk500boot_v2_mega2560.hex"
	echo "built $out/stk500boot_v2_mega2560.hex"
fi

# pad.h: four arrays of N/4 pseudo-random bytes (a fixed LCG, so every build is the
# same; an AVR object is at most 32 KiB) and the 16-bit sum of all of them.
write_pad() {
	awk -v n="$1" 'BEGIN {
		x = 12345; sum = 0; part = n / 4
		for (p = 0; p < 4; p++) {
			printf "const uint8_t pad%d[%d] PROGMEM = {\n", p, part
			for (i = 0; i < part; i++) {
				x = (x * 1103515245 + 12345) % 2147483648
				b = int(x / 65536) % 256
				sum = (sum + b) % 65536
				printf "%d%s", b, (i % 32 == 31 ? ",\n" : ",")
			}
			printf "};\n"
		}
		printf "#define PAD_SUM %du\n", sum
	}' > "$2"
}

mega_app() {	# mega_app OUT APP_ID [PAD_BYTES]
	local hex=$1 id=$2 pad=${3:-}
	if stale "$hex" "$here/blink-uart.c"; then
		local extra=()
		if [ -n "$pad" ]; then
			write_pad "$pad" "$tmp/pad.h"
			extra=(-DPAD_BYTES="$pad" -I"$tmp")
		fi
		avr-gcc -Os -Wall -Wextra -mmcu=atmega2560 -DF_CPU=16000000UL -DAPP_ID="$id" "${extra[@]}" \
			-o "$tmp/mega.elf" "$here/blink-uart.c"
		avr-objcopy -O ihex -R .eeprom "$tmp/mega.elf" "$tmp/mega-app.hex"
		mv -f "$tmp/mega-app.hex" "$hex"
		echo "built $hex"
	fi
}
mega_app "$out/blink-mega.hex" 3
mega_app "$out/blink-mega-big.hex" 4 120832
