#!/usr/bin/env bash
# Makes a fresh Debian 12 machine (Node 20, root) ready for the demo or the tests, then builds:
#   scripts/setup.sh demo   Debian packages for the build and the demo (emscripten; the three
#                           browser engines: Chromium, Firefox ESR, WebKitGTK with its
#                           WebDriver and Xvfb; mosquitto for the MQTT page), npm packages, the wasm module (build.sh,
#                           cached), the TypeScript (tsc) and the browser bundle (esbuild)
#   scripts/setup.sh test   the same, plus the test peers: OpenSSL and GnuTLS command lines,
#                           websockify, socat, iproute2, tshark, mosquitto_sub; and the benchmark's
#                           baselines (bench/build.sh: native OpenSSL, cached; gcc); the test-only
#                           worker bundle (dist/test/); the debug variant of the wasm module
#                           (build.sh --debug, cached); and clang-format, for `npm run lint`
# Everything already present is left alone; nothing is installed twice.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=${1:-demo}
packages=(emscripten node-acorn patch xz-utils make perl openssl chromium firefox-esr webkit2gtk-driver xvfb mosquitto)
case $mode in
  demo) ;;
  test) packages+=(gnutls-bin websockify socat iproute2 util-linux tshark mosquitto-clients gcc libc6-dev clang-format) ;;
  *) echo "usage: scripts/setup.sh demo|test" >&2; exit 2 ;;
esac

say() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "[setup] missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

./build.sh
if [[ $mode == test ]]; then ./build.sh --debug; fi # the debug variant, for a short fuzz run
say "compiling TypeScript and bundling for browsers"
rm -rf lib # nothing of an earlier layout left to be packed or imported
npx tsc -p tsconfig.json
npx tsc -p tsconfig.node.json
if [[ $mode == test ]]; then node scripts/bundle.mjs --test; else node scripts/bundle.mjs; fi
if [[ $mode == test ]]; then
  say "building the benchmark's baselines (bench/build.sh)"
  bench/build.sh
fi
