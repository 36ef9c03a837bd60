#!/usr/bin/env bash
# bench/build.sh: the baselines `npm run bench` compares the library with, built from the same
# pinned and patched OpenSSL sources as the wasm module (build.sh's fetch and patch steps):
#   bench/dist/bench-asm      bench/native/bench.c against native OpenSSL built with asm
#   bench/dist/bench-no-asm   the same against native OpenSSL built with no-asm
#   bench/dist/bench-wasm.*   the same C compiled with emcc against the wasm build's libraries
#                             ("raw C in wasm": the facade's figures are compared with these)
# Native OpenSSL uses the wasm build's configure flags except no-asm (per variant) and the seed
# source. Both native builds are cached by input hash next to the wasm build's cache.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
set --
# shellcheck source=../build.sh
source "$BENCH/../build.sh"
OUT=$ROOT/bench/dist

ensure_native_tools() {
  local missing=()
  command -v gcc >/dev/null || missing+=(gcc)
  [[ -f /usr/include/stdio.h ]] || missing+=(libc6-dev)
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    step "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Native configure flags for variant $1 (asm | no-asm).
native_flags() {
  local flag
  for flag in "${CONFIGURE_FLAGS[@]}"; do
    [[ $flag == no-asm || $flag == --with-rand-seed=* ]] || printf '%s\n' "$flag"
  done
  [[ $1 == no-asm ]] && echo no-asm
  return 0
}

# Builds native libssl.a and libcrypto.a for variant $1 into $2.
build_native() {
  local variant=$1 out=$2 work src total jobs flags
  mkdir -p "$CACHE/tmp"
  work=$(mktemp -d "$CACHE/tmp/native.XXXXXX")
  src=$work/openssl-$OPENSSL_VERSION
  prepare_source "$work"
  mapfile -t flags < <(native_flags "$variant")
  step "configuring native OpenSSL ($variant)"
  (cd "$src" && ./config "${flags[@]}" --prefix=/openssl-psk-wasm-bench) >"$work/configure.log" 2>&1 \
    || { tail -n 30 "$work/configure.log" >&2; die "native Configure failed"; }
  total=$(grep -cE '^(crypto|ssl)/.*\.o: ' "$src/Makefile" || true)
  jobs=$(nproc)
  step "compiling native OpenSSL ($variant): $total objects, $jobs jobs, about 2 minutes (log: $work/make.log)"
  (cd "$src" && make -j"$jobs" build_libs 2>&1) | compile_progress "$work/make.log" "$total" \
    || { tail -n 30 "$work/make.log" >&2; die "compiling native OpenSSL failed"; }
  mkdir -p "$work/out/lib"
  cp "$src/libssl.a" "$src/libcrypto.a" "$work/out/lib/"
  cp -r "$src/include" "$work/out/include"
  rm -rf "$out"
  mv "$work/out" "$out"
  rm -rf "$work"
}

bench_main() {
  ensure_tools
  ensure_native_tools
  select_variant psk # the raw C runs on the PSK build's libraries, as the facade's figures do
  if [[ ! -f $OPENSSL_LIBS/lib/libcrypto.a ]]; then # wasm/dist may be current while the cache is gone
    fetch_sources
    build_openssl "$OPENSSL_LIBS"
  fi
  mkdir -p "$OUT"

  local variant key stamp
  declare -A libs
  for variant in asm no-asm; do
    key=$({
      gcc --version | sed -n 1p # all of it read: no broken pipe under pipefail
      declare -p INPUT_SHA256 DEBIAN_VERSION DEBIAN_PACKAGING_PATCHES CONFIGURE_FLAGS
      declare -f build_native native_flags prepare_source is_packaging_patch
      echo "$variant"
    } | hash_stdin)
    libs[$variant]=$CACHE/native-$variant-${key:0:16}
    if [[ ! -f ${libs[$variant]}/lib/libcrypto.a ]]; then
      fetch_sources
      build_native "$variant" "${libs[$variant]}"
    fi
    touch "${libs[$variant]}"
  done
  find "$CACHE" -maxdepth 1 -name 'native-*' -type d -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- \
    | xargs -r rm -rf

  # The programs are relinked only when a library or the source changed.
  stamp=$({
    echo "${libs[asm]} ${libs[no-asm]} $OPENSSL_LIBS"
    sha256 "$BENCH/native/bench.c"
    declare -f bench_main
  } | hash_stdin)
  if [[ -f $OUT/stamp && $(cat "$OUT/stamp") == "$stamp" ]]; then
    step "bench/dist is up to date"
    return 0
  fi
  for variant in asm no-asm; do
    gcc -O3 -I"${libs[$variant]}/include" "$BENCH/native/bench.c" \
      "${libs[$variant]}/lib/libssl.a" "${libs[$variant]}/lib/libcrypto.a" -o "$OUT/bench-$variant"
  done
  emcc -O3 -I"$OPENSSL_LIBS/include" "$BENCH/native/bench.c" "$OPENSSL_LIBS/lib/libssl.a" "$OPENSSL_LIBS/lib/libcrypto.a" \
    --no-entry -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createBench -sENVIRONMENT=web,worker \
    -sFILESYSTEM=0 -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=262144 -sMALLOC=dlmalloc \
    -sEXPORTED_FUNCTIONS=_bench_init,_bench_handshakes,_bench_bulk,_bench_x25519,_bench_selftest \
    -sEXPORTED_RUNTIME_METHODS=ccall -sINCOMING_MODULE_JS_API=instantiateWasm,print,printErr \
    -o "$OUT/bench-wasm.mjs"
  echo "$stamp" >"$OUT/stamp"
  step "bench/dist: bench-asm, bench-no-asm (native), bench-wasm.mjs + .wasm (raw C in wasm)"
}

bench_main
