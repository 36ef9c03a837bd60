# Every input that produces bytes in wasm/dist, pinned. Sourced by build.sh.
# Changing anything here changes the cache key, so the next build starts from scratch.

# OpenSSL 1.1.1w as Debian ships it for bullseye, with Debian's security backports.
OPENSSL_VERSION=1.1.1w
DEBIAN_VERSION=1.1.1w-0+deb11u8
DEBIAN_SUITES=(bullseye bullseye-security)

# sha256 of each file we use from `apt-get source --download-only openssl=$DEBIAN_VERSION`.
declare -A INPUT_SHA256=(
  [openssl_1.1.1w.orig.tar.gz]=cf3098950cb4d853ad95c0841f1f9c6d3dc102dccfcacd521d93925208b76ac8
  [openssl_1.1.1w-0+deb11u8.debian.tar.xz]=1b9aab73493a39ccab81f22092abce8d4857deeb5a084c2dcf89e60ec108c818
)

# Patches from debian/patches/series that only concern Debian's packaging (install paths,
# symbol versioning, man pages, the system-wide openssl.cnf). Every other patch in the
# series, the CVE fixes and hardening backports, is applied in order.
DEBIAN_PACKAGING_PATCHES=(
  debian-targets.patch
  man-section.patch
  no-symbolic.patch
  pic.patch
  c_rehash-compat.patch
  Set-systemwide-default-settings-for-libssl-users.patch
)

# Debian's emscripten package; other versions may emit different bytes.
EMCC_VERSION=3.1.6

# Fixed build date for OpenSSL's "built on:" string (util/mkbuildinf.pl honours it), so the
# same inputs give byte-identical output. 2023-09-11, the release date of 1.1.1w.
SOURCE_DATE_EPOCH=1694390400
