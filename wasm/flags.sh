# Configure and emcc flags, each with the reason it is there. Sourced by build.sh.
# Part of the cache key: editing a flag rebuilds.

# ./Configure linux-generic32 …: a plain 32-bit target (wasm32 has 4-byte long), C only.
CONFIGURE_FLAGS=(
  no-asm                  # no assembly exists for wasm
  no-threads              # one thread per instance; no pthreads in the module
  no-shared               # static libraries linked into one .wasm
  no-pic                  # position-independent code buys nothing in a static wasm
  no-dso                  # no dlopen in wasm
  no-engine               # no ENGINE plug-ins
  no-async                # no ucontext/fibers in wasm
  no-sock no-dgram        # I/O goes through memory BIOs, never sockets
  no-stdio                # no files: keys, certificates and sessions arrive as bytes
  no-autoload-config      # never read openssl.cnf
  no-filenames            # no source file names in the error queue: smaller, no build paths
  no-ui-console           # no terminal prompts
  no-tests                # the library only
  --with-rand-seed=none   # the only seed source is the platform CSPRNG, wired in by wasm/shim/random.c
  # Protocols a PSK TLS 1.2/1.3 library never speaks.
  no-ssl3 no-ssl3-method no-tls1 no-tls1-method no-tls1_1 no-tls1_1-method
  no-dtls no-srtp no-sctp no-nextprotoneg no-heartbeats no-comp no-zlib
  # Features outside PSK TLS: SRP, certificate transparency, OCSP, CMS, timestamps, RFC 3779.
  no-srp no-ct no-ocsp no-cms no-ts no-rfc3779
  # Old, weak or national algorithms that no TLS 1.2/1.3 PSK suite uses.
  no-weak-ssl-ciphers no-des no-rc2 no-rc4 no-rc5 no-idea no-seed no-bf no-cast
  no-camellia no-aria no-sm2 no-sm3 no-sm4 no-gost no-md2 no-md4 no-mdc2
  no-rmd160 no-whirlpool no-blake2 no-siphash no-scrypt no-ocb no-ec2m no-dsa
  no-ssl-trace            # SSL_trace pretty-printing; the message callback stays
)
# Kept on purpose: psk, ec (X25519, P-256/384/521 for ECDHE-PSK and certificate fallback),
# dh (DHE-PSK, FFDHE groups), rsa and ecdsa (certificate-authenticated fallback and
# resumption from a non-PSK handshake), chacha/poly1305, aes-gcm/cbc, sha2, hkdf, err strings.

# Extra compiler flags for OpenSSL and the shim. linux-generic32 already gives -O3, which the
# benchmark showed is worth 20-50% of handshake speed over -Os/-Oz.
OPENSSL_CFLAGS=()

# The PSK build (openssl-psk.wasm, the package's default): the same sources, configure flags and
# link flags, plus wasm/patches/psk/ and these macros, each switching off one part of OpenSSL
# that PSK TLS never reaches (README, "How it is built", measures what each one saves).
# The full build (openssl-psk-full.wasm, openssl-psk-wasm/full and the CLI) has none of them.
PSK_OPENSSL_CFLAGS=(
  -DOPW_PSK_NO_CERTS          # no Certificate, CertificateRequest, CertificateVerify, RSA key
                              # exchange, chain building or verification in libssl; no RSA,
                              # RSA-PSS, Ed25519 or CMAC key methods; no X509v3 extension methods.
                              # X.509 ASN.1 stays: a PEM session may carry a peer certificate
  -DOPW_PSK_NO_X448           # no X448 group or Ed448 (X25519, P-256, P-384, P-521 stay); the
                              # X25519 key code refuses X448/Ed448 keys, so curve448 goes
  -DOPW_PSK_NO_DTLS_CODE      # SSL_IS_DTLS() is 0 (no-dtls): the compiler drops the DTLS branches,
                              # and nothing refers to DTLS_method(), so the DTLS record layer goes
  -DOPW_PSK_NO_CONFIG         # SSL_CTX_new reads no system configuration (there is none:
                              # no-autoload-config) and OPENSSL_INIT_LOAD_CONFIG loads nothing,
                              # so SSL_CONF, the config parser and the config modules go
  -DOPW_PSK_NO_CERT_ERRORS    # no error strings for libraries the build no longer has (RSA,
                              # X509V3, PKCS7, PKCS12, UI, DSO, OSSL_STORE); every other
                              # library's strings stay, loaded at start-up as before
  -DOPW_PSK_NO_EXTRA_ALGS     # EVP names only the TLS ciphers (AES-CBC/GCM/CCM, ChaCha20-Poly1305)
                              # and digests (no SHA-3)
  -DOPW_PSK_NO_EXTRA_CURVES   # EC_GROUP_new_by_curve_name knows P-256, P-384 and P-521 only
  -DOPW_PSK_SMALL_OBJ_TABLE   # the object table holds the NIDs the build's code names (383 of
                              # 1195; wasm/patches/psk/objects-keep.txt says which and why);
                              # any other OID still decodes, as dotted numbers without a name
)
PSK_SHIM_CFLAGS=(
  -DOPW_PSK_ONLY              # the shim's certificate functions refuse (the facade never calls
                              # them: it throws ERR_FULL_BUILD_REQUIRED first)
)

# emcc link flags.
LINK_FLAGS=(
  -O3
  --no-entry                          # a library: no main()
  -sMODULARIZE=1 -sEXPORT_ES6=1       # an ES module exporting a factory, one instance per call
  -sEXPORT_NAME=createOpenSSLModule
  -sENVIRONMENT=web,worker            # the facade supplies the .wasm bytes itself (instantiateWasm),
                                      # so Node needs none of the glue's require()-based loader
  -sFILESYSTEM=0                      # OpenSSL reads no files here (no-stdio, no-autoload-config)
  -sALLOW_MEMORY_GROWTH=1             # connections come and go; start small, grow on demand
  -sINITIAL_MEMORY=4194304            # 4 MiB is enough to load and run a few connections
  -sTOTAL_STACK=262144                # 256 KiB: OpenSSL's deepest paths (ASN.1, BN) use a few KiB
  -Wl,--stack-first                   # put the stack below the data, so an overflow traps at
                                      # address 0 instead of silently overwriting static data
  -sABORTING_MALLOC=0                 # malloc failure returns NULL; OpenSSL handles it as an error
  -sMALLOC=dlmalloc                   # its mallinfo() gives heapStats().inUseBytes
  -sSUPPORT_LONGJMP=0                 # OpenSSL does not use setjmp/longjmp
  -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0   # never install process-wide handlers
  -sERROR_ON_UNDEFINED_SYMBOLS=1      # a missing symbol is a build error, not a runtime abort
  -sDYNAMIC_EXECUTION=0               # no eval/new Function in the glue: CSP needs only 'wasm-unsafe-eval'
  -sTEXTDECODER=2                     # every target has TextDecoder; drop the fallback
  -sINCOMING_MODULE_JS_API=instantiateWasm,onAbort   # the only Module options the facade passes
  -sEXPORTED_RUNTIME_METHODS=stackSave,stackRestore  # the trap guard (src/core/ffi.ts) puts the
                                      # stack pointer back after a call that threw through wasm
)

# The debug variant (./build.sh --debug, in wasm/dist-debug/; `npm run fuzz` runs on it): the
# same libraries, linked with LINK_FLAGS less DEBUG_UNLINK_FLAGS, plus DEBUG_LINK_FLAGS. Not shipped.
DEBUG_UNLINK_FLAGS=(
  -Wl,--stack-first                   # emscripten 3.1.6's stack checks abort at start-up with the
                                      # stack below the data; they catch an overflow themselves
)
DEBUG_LINK_FLAGS=(
  -sASSERTIONS=2                      # the glue checks how it is used (and by the facade) and
                                      # aborts with a reason instead of going on wrong
  -sSTACK_OVERFLOW_CHECK=2            # every function checks the stack pointer against the stack's
                                      # bounds: an overflow aborts, naming it, before it corrupts
  -sENVIRONMENT=web,worker,node       # the fuzzer runs it in Node, which the assertions check for
)
