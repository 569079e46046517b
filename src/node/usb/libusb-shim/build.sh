#!/usr/bin/env bash
# Builds the libusb-1.0 stand-in that lets real dfu-util drive webprog's USB simulators.
#
#   src/node/usb/libusb-shim/build.sh OUT_DIR
#
# Output in OUT_DIR:
#   libusb-shim.so    load with LD_PRELOAD; set WEBPROG_USB_SOCKET to the host's socket
#                     (src/node/usb/sim-host.ts, `webprog simulate usb-dfu`)
#
# Needs only Debian packages: gcc libc6-dev libusb-1.0-0-dev (for libusb.h: the shim must lay out
# libusb's structures exactly as dfu-util was compiled against them). Rebuilds only when the output
# is older than its input (or this script); safe to run again and from parallel test workers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
self="$here/build.sh"
src="$here/libusb-shim.c"

missing=()
command -v gcc >/dev/null 2>&1 || missing+=("gcc (Debian package gcc)")
[ -e /usr/include/libusb-1.0/libusb.h ] || missing+=("/usr/include/libusb-1.0/libusb.h (Debian package libusb-1.0-0-dev)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "build.sh: cannot build the libusb stand-in, missing:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	echo "install with: apt-get install -y gcc libusb-1.0-0-dev" >&2
	exit 1
fi

mkdir -p "$out"
# The cache is never committed, whatever the project's .gitignore says.
[ -e "$out/.gitignore" ] || echo '*' > "$out/.gitignore"

lib="$out/libusb-shim.so"
if [ ! -e "$lib" ] || [ "$src" -nt "$lib" ] || [ "$self" -nt "$lib" ]; then
	# Written under a private name and renamed into place, so a racing reader never loads half a file.
	tmp=$(mktemp "$out/.libusb-shim.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -shared -I/usr/include/libusb-1.0 -o "$tmp" "$src"
	mv -f "$tmp" "$lib"
	echo "built $lib"
fi
