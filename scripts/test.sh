#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need on a fresh Debian machine,
# then type-checks, runs every test tier and prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers and toolchains the tests drive (see tests/peers): Debian packages only.
DEBIAN_PACKAGES=(python3 gcc libc6-dev make libsimavr-dev simavr gcc-avr binutils-avr avr-libc arduino-core-avr
  avrdude stm32flash flashrom dfu-util libusb-1.0-0-dev srecord binutils chromium)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! npm ls --silent >/dev/null 2>&1; then npm ci --no-audit --no-fund; fi

bash tests/support/simavr/build.sh
npx tsc -b
npx svelte-check --tsconfig ./tsconfig.app.json --threshold error --output machine | tail -n 3
npx vite build --logLevel warn

report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node scripts/test-summary.mjs "$report"
exit $status
