#!/usr/bin/env bash
# build.sh: OpenSSL 1.1.1w (Debian's source with its security patches) and the C shim,
# compiled to WebAssembly in wasm/dist/, two builds of the same sources (wasm/flags.sh):
#   openssl-psk.mjs         the PSK build (the package's default entry points): ES module glue
#   openssl-psk.wasm        (emscripten, exports createOpenSSLModule) and the module
#   build-info.json         every input's sha256, the flags, emcc version, the wasm's sha256 and size
#   openssl-psk-full.mjs    the full build (openssl-psk-wasm/full, the CLI): the same, with
#   openssl-psk-full.wasm   certificates
#   build-info-full.json
#
# Usage: ./build.sh [--force | --verify | --debug]
#   Nothing is rebuilt when the inputs have not changed: the OpenSSL libraries and the linked
#   module are cached by a hash of everything that goes into them, in
#   $OPENSSL_PSK_WASM_CACHE (default ~/.cache/openssl-psk-wasm). --force ignores the cache.
#   --verify builds everything again from the sources, in another directory with an empty
#   cache, and fails unless both builds are byte-identical to wasm/dist (once per set of inputs).
#   --debug links the debug variant of the full build instead (DEBUG_LINK_FLAGS in wasm/flags.sh:
#   emscripten's assertions and stack checks) into wasm/dist-debug/, from the same cached libraries.
#   Missing Debian packages (emscripten, node-acorn, patch) are installed with apt-get as root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
# shellcheck source=wasm/inputs.sh
source wasm/inputs.sh
# shellcheck source=wasm/flags.sh
source wasm/flags.sh

CACHE=${OPENSSL_PSK_WASM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openssl-psk-wasm}
DIST=$ROOT/wasm/dist
SHIM_FILES=(wasm/shim/opw.h wasm/shim/*.c wasm/glue.d.mts scripts/gen-ffi.mjs)
# Our own changes to OpenSSL for wasm, applied in name order after Debian's (both builds), then
# the PSK build's own (wasm/patches/psk/, each change guarded by a macro of PSK_OPENSSL_CFLAGS).
shopt -s nullglob
COMMON_PATCHES=(wasm/patches/*.patch)
PSK_PATCHES=(wasm/patches/psk/*.patch)
shopt -u nullglob
FULL_OPENSSL_CFLAGS=(${OPENSSL_CFLAGS[@]+"${OPENSSL_CFLAGS[@]}"})
FULL_LINK_FLAGS=("${LINK_FLAGS[@]}")
VARIANTS=(psk full)
FORCE=0
VERIFY=0
case ${1:-} in
  --force) FORCE=1 ;;
  --verify) VERIFY=1 ;;
  --debug)
    VARIANTS=(full)
    DIST=$ROOT/wasm/dist-debug
    # LINK_FLAGS less DEBUG_UNLINK_FLAGS, plus DEBUG_LINK_FLAGS; in the link key too (its own cache entry).
    debug_flags=()
    for flag in "${LINK_FLAGS[@]}"; do
      [[ " ${DEBUG_UNLINK_FLAGS[*]} " == *" $flag "* ]] || debug_flags+=("$flag")
    done
    LINK_FLAGS=("${debug_flags[@]}" "${DEBUG_LINK_FLAGS[@]}")
    FULL_LINK_FLAGS=("${LINK_FLAGS[@]}")
    ;;
  '') ;;
  *) echo "usage: ./build.sh [--force | --verify | --debug]" >&2; exit 2 ;;
esac

step() { printf '[build] %s\n' "$*" >&2; }
die() { printf '[build] error: %s\n' "$*" >&2; exit 1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
hash_stdin() { sha256sum | cut -d' ' -f1; }

ensure_tools() {
  local missing=()
  command -v emcc >/dev/null || missing+=(emscripten)
  [[ -f /usr/share/nodejs/acorn/package.json ]] || missing+=(node-acorn)
  command -v patch >/dev/null || missing+=(patch)
  command -v xz >/dev/null || missing+=(xz-utils)
  command -v make >/dev/null || missing+=(make)
  command -v perl >/dev/null || missing+=(perl)
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    step "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's emscripten finds acorn through NODE_PATH.
  export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
  local version
  # sed reads all of emcc's output: with head, emcc could write into a closed pipe and fail
  # (BrokenPipeError), which pipefail turns into a failed build now and then.
  version=$(emcc --version | sed -n 1p | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | sed -n 1p)
  [[ $version == "$EMCC_VERSION" ]] || die "emcc $version found; $EMCC_VERSION (Debian's emscripten package) is required"
}

# The machine's own Debian mirror for $1 (debian | debian-security), as its apt sources name it.
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v '^\s*#' | grep -oE "(https?|file):[^ ]*/$1/?( |$)" | head -n 1 | tr -d ' ') || true
  echo "${uri:-http://deb.debian.org/$1}"
}

# Downloads the pinned source package through a private apt configuration (the machine's
# own sources and lists are left untouched) and checks every file against its pinned sha256.
fetch_sources() {
  local downloads=$CACHE/downloads file missing=0
  mkdir -p "$downloads"
  for file in "${!INPUT_SHA256[@]}"; do
    [[ -f $downloads/$file && $(sha256 "$downloads/$file") == "${INPUT_SHA256[$file]}" ]] || missing=1
  done
  if ((missing)); then
    step "fetching openssl $DEBIAN_VERSION from Debian (deb-src ${DEBIAN_SUITES[*]})"
    local apt
    apt=$(mktemp -d)
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/download"
    {
      echo "deb-src $(apt_mirror debian) ${DEBIAN_SUITES[0]} main"
      echo "deb-src $(apt_mirror debian-security) ${DEBIAN_SUITES[1]} main"
    } >"$apt/sources.list"
    local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt-get update (deb-src) failed"; }
    (cd "$apt/download" && apt-get "${opts[@]}" source --download-only "openssl=$DEBIAN_VERSION") >"$apt/source.log" 2>&1 \
      || { cat "$apt/source.log" >&2; die "apt-get source openssl=$DEBIAN_VERSION failed"; }
    for file in "${!INPUT_SHA256[@]}"; do
      [[ -f $apt/download/$file ]] || die "the source package has no $file"
      cp "$apt/download/$file" "$downloads/$file.partial" && mv "$downloads/$file.partial" "$downloads/$file"
    done
    rm -rf "$apt"
  fi
  for file in "${!INPUT_SHA256[@]}"; do
    local actual
    actual=$(sha256 "$downloads/$file")
    [[ $actual == "${INPUT_SHA256[$file]}" ]] \
      || die "$file has sha256 $actual, pinned ${INPUT_SHA256[$file]}: refusing to build from it"
  done
}

is_packaging_patch() {
  local p
  for p in "${DEBIAN_PACKAGING_PATCHES[@]}"; do [[ $1 == "$p" ]] && return 0; done
  return 1
}

# Reads make's output; keeps it in $1 and prints a line at every 10% of objects compiled.
compile_progress() {
  local log=$1 total=$2 done=0 next=10 line
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ $line == *' -c -o '* ]]; then
      done=$((done + 1))
      if ((done * 100 >= next * total)); then
        step "compiled $done/$total OpenSSL objects"
        next=$((next + 10))
      fi
    fi
  done
}

# Unpacks the pinned sources into $1/openssl-$OPENSSL_VERSION and applies Debian's security
# patches in series order (not the packaging ones), listing them in $1/patches.sha256.
# bench/build.sh builds native OpenSSL from the same tree.
prepare_source() {
  local work=$1 downloads=$CACHE/downloads src=$1/openssl-$OPENSSL_VERSION patch count=0
  step "unpacking OpenSSL $OPENSSL_VERSION and Debian's patches"
  tar -xzf "$downloads/openssl_$OPENSSL_VERSION.orig.tar.gz" -C "$work"
  tar -xJf "$downloads/openssl_$DEBIAN_VERSION.debian.tar.xz" -C "$src"
  : >"$work/patches.sha256"
  while read -r patch; do
    [[ -z $patch || $patch == \#* ]] && continue
    is_packaging_patch "$patch" && continue
    patch -d "$src" -p1 -s --no-backup-if-mismatch <"$src/debian/patches/$patch" \
      || die "Debian patch $patch does not apply"
    printf '%s %s\n' "$(sha256 "$src/debian/patches/$patch")" "$patch" >>"$work/patches.sha256"
    count=$((count + 1))
  done <"$src/debian/patches/series"
  step "applied $count Debian security patches"
}

# Unpacks, patches, configures and compiles libssl.a and libcrypto.a into $1.
build_openssl() {
  local out=$1 work src patch
  mkdir -p "$CACHE/tmp"
  work=$(mktemp -d "$CACHE/tmp/openssl.XXXXXX")
  src=$work/openssl-$OPENSSL_VERSION
  prepare_source "$work"
  for patch in "${WASM_PATCHES[@]}"; do
    patch -d "$src" -p1 -s --no-backup-if-mismatch <"$patch" || die "$patch does not apply"
  done
  step "applied ${#WASM_PATCHES[@]} wasm patches (wasm/patches/)"

  step "configuring (log: $work/configure.log)"
  (cd "$src" && SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH ./Configure linux-generic32 "${CONFIGURE_FLAGS[@]}" \
    --prefix=/openssl-psk-wasm --openssldir=/openssl-psk-wasm \
    CC=emcc AR=emar RANLIB=emranlib ${OPENSSL_CFLAGS[@]+"${OPENSSL_CFLAGS[@]}"}) >"$work/configure.log" 2>&1 \
    || { tail -n 30 "$work/configure.log" >&2; die "Configure failed"; }

  local total jobs
  total=$(grep -cE '^(crypto|ssl)/.*\.o: ' "$src/Makefile" || true)
  jobs=$(nproc)
  step "compiling OpenSSL with emcc: $total objects, $jobs jobs, about 1-2 minutes (log: $work/make.log)"
  (cd "$src" && SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH make -j"$jobs" build_libs 2>&1) \
    | compile_progress "$work/make.log" "$total" \
    || { tail -n 30 "$work/make.log" >&2; die "compiling OpenSSL failed"; }

  mkdir -p "$work/out/lib"
  cp "$src/libssl.a" "$src/libcrypto.a" "$work/out/lib/"
  cp -r "$src/include" "$work/out/include"
  cp "$work/patches.sha256" "$work/out/patches.sha256"
  rm -rf "$out"
  mv "$work/out" "$out"
  rm -rf "$work"
}

# Links the shim and the libraries in $1 into the module ($NAME.wasm, $NAME.mjs), writing the
# outputs to $2.
link_module() {
  local libs=$1 out=$2 work
  mkdir -p "$CACHE/tmp"
  work=$(mktemp -d "$CACHE/tmp/link.XXXXXX")
  node scripts/gen-ffi.mjs --exports "$work"
  step "linking the $VARIANT build with emcc"
  emcc "${LINK_FLAGS[@]}" ${SHIM_CFLAGS[@]+"${SHIM_CFLAGS[@]}"} -I"$libs/include" wasm/shim/*.c \
    "$libs/lib/libssl.a" "$libs/lib/libcrypto.a" \
    --js-library "$work/library.js" \
    -sEXPORTED_FUNCTIONS=@"$work/exported-functions.json" \
    -o "$work/$NAME.mjs"
  cp wasm/glue.d.mts "$work/$NAME.d.mts"
  write_build_info "$libs" "$work"
  rm -f "$work/exported-functions.json" "$work/library.js"
  rm -rf "$out"
  mv "$work" "$out"
}

json_array() {
  local first=1 item
  printf '['
  for item in "$@"; do
    ((first)) || printf ', '
    first=0
    printf '"%s"' "${item//\"/\\\"}"
  done
  printf ']'
}

write_build_info() {
  local libs=$1 out=$2 file sha name
  {
    printf '{\n'
    printf '  "build": "%s",\n' "$VARIANT"
    printf '  "openssl": "%s",\n' "$DEBIAN_VERSION"
    printf '  "key": "%s",\n' "$LINK_KEY"
    printf '  "inputs": {\n'
    for file in "${!INPUT_SHA256[@]}"; do
      printf '    "%s": "%s",\n' "$file" "${INPUT_SHA256[$file]}"
    done
    while read -r sha name; do
      printf '    "debian/patches/%s": "%s",\n' "$name" "$sha"
    done <"$libs/patches.sha256"
    for file in "${WASM_PATCHES[@]}" "${SHIM_FILES[@]}"; do
      printf '    "%s": "%s",\n' "$file" "$(sha256 "$file")"
    done
    printf '    "wasm/inputs.sh": "%s",\n' "$(sha256 wasm/inputs.sh)"
    printf '    "wasm/flags.sh": "%s"\n' "$(sha256 wasm/flags.sh)"
    printf '  },\n'
    printf '  "configureFlags": %s,\n' "$(json_array linux-generic32 "${CONFIGURE_FLAGS[@]}")"
    printf '  "opensslCflags": %s,\n' "$(json_array ${OPENSSL_CFLAGS[@]+"${OPENSSL_CFLAGS[@]}"})"
    printf '  "linkFlags": %s,\n' "$(json_array "${LINK_FLAGS[@]}" ${SHIM_CFLAGS[@]+"${SHIM_CFLAGS[@]}"})"
    printf '  "sourceDateEpoch": %s,\n' "$SOURCE_DATE_EPOCH"
    printf '  "emcc": "%s",\n' "$(emcc --version | sed -n 1p)"
    printf '  "wasm": { "file": "%s.wasm", "sha256": "%s", "bytes": %s, "gzip9Bytes": %s },\n' \
      "$NAME" "$(sha256 "$out/$NAME.wasm")" "$(stat -c %s "$out/$NAME.wasm")" "$(gzip -9 -n -c "$out/$NAME.wasm" | wc -c)"
    printf '  "glue": { "file": "%s.mjs", "sha256": "%s", "bytes": %s }\n' \
      "$NAME" "$(sha256 "$out/$NAME.mjs")" "$(stat -c %s "$out/$NAME.mjs")"
    printf '}\n'
  } >"$out/$INFO"
}

# Keeps the six most recently used builds of each kind in the cache (three of each variant).
prune_cache() {
  local kind
  for kind in openssl module; do
    find "$CACHE" -maxdepth 1 -name "$kind-*" -type d -printf '%T@ %p\n' | sort -rn | tail -n +7 | cut -d' ' -f2- \
      | xargs -r rm -rf
  done
}

# Rebuilds both builds from scratch elsewhere and compares with wasm/dist; remembers success
# per pair of keys.
verify() {
  local marker=$CACHE/verified-$(echo "${VERIFY_KEYS[*]}" | hash_stdin) dir file
  if [[ -f $marker ]]; then
    step "reproducible: already verified for these inputs ($(cat "$marker"))"
    return
  fi
  dir=$(mktemp -d /tmp/openssl-psk-wasm-verify.XXXXXX)
  mkdir -p "$dir/tree/scripts" "$dir/cache"
  cp -r build.sh "$dir/tree/"
  cp -r scripts/gen-ffi.mjs "$dir/tree/scripts/"
  cp -r wasm "$dir/tree/"
  rm -rf "$dir/tree/wasm/dist"
  [[ -d $CACHE/downloads ]] && cp -r "$CACHE/downloads" "$dir/cache/"
  step "verifying: building again from the sources in $dir"
  (cd "$dir/tree" && OPENSSL_PSK_WASM_CACHE=$dir/cache ./build.sh --force) || die "the verification build failed"
  for file in openssl-psk.wasm openssl-psk.mjs openssl-psk-full.wasm openssl-psk-full.mjs; do
    [[ $(sha256 "$dir/tree/wasm/dist/$file") == "$(sha256 "$DIST/$file")" ]] \
      || die "not reproducible: $file differs between wasm/dist and a fresh build in $dir/tree/wasm/dist"
  done
  rm -rf "$dir"
  sha256 "$DIST/openssl-psk.wasm" "$DIST/openssl-psk-full.wasm" >"$marker"
  step "reproducible: a fresh build elsewhere gave byte-identical .wasm and .mjs files for both builds"
}

# The keys hash the pinned values, the flags, the toolchain and the code of the steps.
compute_keys() {
  OPENSSL_KEY=$({
    emcc -v 2>&1 | grep -v '^ *"/' || true
    declare -p INPUT_SHA256 DEBIAN_VERSION DEBIAN_PACKAGING_PATCHES CONFIGURE_FLAGS SOURCE_DATE_EPOCH EMCC_VERSION
    declare -p OPENSSL_CFLAGS 2>/dev/null || true
    declare -f build_openssl prepare_source is_packaging_patch
    for file in "${WASM_PATCHES[@]}"; do sha256 "$file"; done
  } | hash_stdin)
  LINK_KEY=$({
    echo "$OPENSSL_KEY"
    declare -p LINK_FLAGS
    declare -p SHIM_CFLAGS NAME INFO VARIANT
    sha256 wasm/flags.sh # build-info.json records it: a new comment there is a new build-info
    declare -f link_module write_build_info json_array
    for file in "${SHIM_FILES[@]}"; do sha256 "$file"; done
  } | hash_stdin)
  OPENSSL_LIBS=$CACHE/openssl-${OPENSSL_KEY:0:16}
}

# Sets the globals the steps read for one build: psk or full (wasm/flags.sh says what differs).
select_variant() {
  VARIANT=$1
  WASM_PATCHES=(${COMMON_PATCHES[@]+"${COMMON_PATCHES[@]}"})
  OPENSSL_CFLAGS=(${FULL_OPENSSL_CFLAGS[@]+"${FULL_OPENSSL_CFLAGS[@]}"})
  LINK_FLAGS=("${FULL_LINK_FLAGS[@]}")
  SHIM_CFLAGS=()
  NAME=openssl-psk-full
  INFO=build-info-full.json
  if [[ $VARIANT == psk ]]; then
    WASM_PATCHES+=(${PSK_PATCHES[@]+"${PSK_PATCHES[@]}"})
    OPENSSL_CFLAGS+=("${PSK_OPENSSL_CFLAGS[@]}")
    SHIM_CFLAGS=("${PSK_SHIM_CFLAGS[@]}")
    NAME=openssl-psk
    INFO=build-info.json
  fi
  compute_keys
}

build_variant() {
  select_variant "$1"
  VERIFY_KEYS+=("$LINK_KEY")
  if ((!FORCE)) && [[ -f $DIST/$INFO ]] && grep -q "\"key\": \"$LINK_KEY\"" "$DIST/$INFO" \
      && [[ -f $DIST/$NAME.wasm && -f $DIST/$NAME.mjs ]]; then
    step "${DIST#"$ROOT"/}/$NAME.wasm is up to date ($(stat -c %s "$DIST/$NAME.wasm") bytes)"
    return 0
  fi

  local libs=$OPENSSL_LIBS linked=$CACHE/module-${LINK_KEY:0:16}
  if ((FORCE)) || [[ ! -f $libs/lib/libssl.a ]]; then
    fetch_sources
    build_openssl "$libs"
  else
    step "OpenSSL libraries of the $VARIANT build from the cache ($libs)"
  fi
  if ((FORCE)) || [[ ! -f $linked/$NAME.wasm ]]; then
    link_module "$libs" "$linked"
  else
    step "linked $VARIANT build from the cache ($linked)"
  fi

  touch "$libs" "$linked"
  mkdir -p "$DIST"
  cp "$linked"/{"$NAME.mjs","$NAME.d.mts","$NAME.wasm","$INFO"} "$DIST/"
  step "${DIST#"$ROOT"/}: $NAME.wasm $(stat -c %s "$DIST/$NAME.wasm") bytes, sha256 $(sha256 "$DIST/$NAME.wasm")"
}

main() {
  ensure_tools
  VERIFY_KEYS=()
  local variant
  for variant in "${VARIANTS[@]}"; do build_variant "$variant"; done
  prune_cache
  if ((VERIFY)); then verify; fi
}

# bench/build.sh sources this file for its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
