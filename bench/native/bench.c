/*
 * bench.c: the raw OpenSSL baseline for `npm run bench`.
 *
 * The same measurements as the TypeScript facade's (bench/scenarios.mjs), written against
 * OpenSSL's C API with nothing in between: a client and a server in one process, joined by
 * memory BIOs. Built three ways by bench/build.sh from the same pinned, patched sources:
 * natively with asm, natively with no-asm, and with emcc against the wasm build's own
 * libraries (the "raw C in wasm" figure the facade is compared with).
 *
 *   bench handshake SCENARIO SECONDS [WARMUP]   prints {"perSecond":N}: handshakes per second
 *   bench bulk SUITE SECONDS [WARMUP]           prints {"perSecond":N}: plaintext bytes per second
 *   bench x25519 keygen|derive SECONDS [WARMUP] prints {"perSecond":N}: X25519 operations per second
 *   (after running WARMUP seconds unreported, in the same process)
 *   bench selftest                     RFC 7748 X25519 and RFC 8439 ChaCha20 vectors, and more
 * The wasm build exports bench_init, bench_handshakes, bench_bulk, bench_x25519 and bench_selftest instead.
 *
 * Scenarios: tls13-psk_dhe_ke, tls13-psk_ke, tls12-psk, tls12-ecdhe-psk-chacha.
 * Suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rand_drbg.h>
#include <openssl/ssl.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#include <unistd.h>
#define EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define EXPORT
#endif

#define BULK_WRITE 16384

static const unsigned char psk_key[32] = {
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c,
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c,
};
static const char psk_identity[] = "bench";
static SSL_SESSION *tls13_session;

static int print_error(const char *line, size_t len, void *unused)
{
    fprintf(stderr, "  %.*s", (int)len, line);
    return 1;
}

static void fail(const char *what)
{
    fprintf(stderr, "bench: %s failed\n", what);
    ERR_print_errors_cb(print_error, NULL); /* OpenSSL is built no-stdio */
    exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* TLS 1.3 external PSK: the man page's use-session and find-session callbacks. */
static int use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                       SSL_SESSION **sess)
{
    if (md != NULL && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(tls13_session)))
        return 0;
    SSL_SESSION_up_ref(tls13_session);
    *sess = tls13_session;
    *id = (const unsigned char *)psk_identity;
    *idlen = sizeof(psk_identity) - 1;
    return 1;
}

static int find_session(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    if (idlen != sizeof(psk_identity) - 1 || memcmp(id, psk_identity, idlen) != 0) {
        *sess = NULL;
        return 1;
    }
    SSL_SESSION_up_ref(tls13_session);
    *sess = tls13_session;
    return 1;
}

/* TLS 1.2 PSK: the client and server callbacks. */
static unsigned int psk_client(SSL *ssl, const char *hint, char *identity,
                               unsigned int max_identity, unsigned char *psk, unsigned int max_psk)
{
    strcpy(identity, psk_identity);
    memcpy(psk, psk_key, sizeof(psk_key));
    return sizeof(psk_key);
}

static unsigned int psk_server(SSL *ssl, const char *identity, unsigned char *psk,
                               unsigned int max_psk)
{
    if (strcmp(identity, psk_identity) != 0)
        return 0;
    memcpy(psk, psk_key, sizeof(psk_key));
    return sizeof(psk_key);
}

static SSL_SESSION *make_session(const char *suite)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL *ssl = SSL_new(ctx);
    STACK_OF(SSL_CIPHER) *ciphers;
    const SSL_CIPHER *cipher = NULL;
    SSL_SESSION *sess = SSL_SESSION_new();
    int i;

    if (!SSL_set_ciphersuites(ssl, suite))
        fail("SSL_set_ciphersuites");
    ciphers = SSL_get_ciphers(ssl);
    for (i = 0; i < sk_SSL_CIPHER_num(ciphers); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(ciphers, i);
        if (strcmp(SSL_CIPHER_get_name(c), suite) == 0)
            cipher = c;
    }
    if (cipher == NULL || sess == NULL
        || !SSL_SESSION_set1_master_key(sess, psk_key, sizeof(psk_key))
        || !SSL_SESSION_set_cipher(sess, cipher)
        || !SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION))
        fail("making the PSK session");
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return sess;
}

struct pair {
    SSL_CTX *client_ctx, *server_ctx;
};

static void set_list(int ok, const char *what)
{
    if (!ok)
        fail(what);
}

static struct pair make_pair(const char *scenario, const char *suite)
{
    struct pair p = { SSL_CTX_new(TLS_client_method()), SSL_CTX_new(TLS_server_method()) };
    SSL_CTX *ctxs[2] = { p.client_ctx, p.server_ctx };
    int i;

    for (i = 0; i < 2; i++)
        SSL_CTX_set_mode(ctxs[i], SSL_MODE_RELEASE_BUFFERS);
    if (strncmp(scenario, "tls13", 5) == 0) {
        tls13_session = make_session(suite);
        for (i = 0; i < 2; i++) {
            set_list(SSL_CTX_set_min_proto_version(ctxs[i], TLS1_3_VERSION), "min version");
            set_list(SSL_CTX_set_ciphersuites(ctxs[i], suite), "ciphersuites");
        }
        SSL_CTX_set_psk_use_session_callback(p.client_ctx, use_session);
        SSL_CTX_set_psk_find_session_callback(p.server_ctx, find_session);
        set_list(SSL_CTX_set1_groups_list(p.client_ctx, "X25519"), "client groups");
        if (strcmp(scenario, "tls13-psk_ke") == 0) {
            /* A 1.1.1 server picks DHE whenever it shares a group with the client. */
            for (i = 0; i < 2; i++)
                SSL_CTX_set_options(ctxs[i], SSL_OP_ALLOW_NO_DHE_KEX);
            set_list(SSL_CTX_set1_groups_list(p.server_ctx, "P-256"), "server groups");
        } else {
            set_list(SSL_CTX_set1_groups_list(p.server_ctx, "X25519"), "server groups");
        }
    } else {
        const char *list = strcmp(scenario, "tls12-psk") == 0 ? "PSK-AES128-GCM-SHA256"
                           : strcmp(scenario, "tls12-ecdhe-psk-chacha") == 0
                               ? "ECDHE-PSK-CHACHA20-POLY1305"
                               : NULL;
        if (list == NULL) {
            fprintf(stderr, "bench: unknown scenario %s\n", scenario);
            exit(2);
        }
        for (i = 0; i < 2; i++) {
            set_list(SSL_CTX_set_max_proto_version(ctxs[i], TLS1_2_VERSION), "max version");
            set_list(SSL_CTX_set_cipher_list(ctxs[i], list), "cipher list");
            set_list(SSL_CTX_set1_groups_list(ctxs[i], "X25519"), "groups");
        }
        SSL_CTX_set_psk_client_callback(p.client_ctx, psk_client);
        SSL_CTX_set_psk_server_callback(p.server_ctx, psk_server);
    }
    return p;
}

/* A client and a server joined by two memory BIOs, handshake completed. */
static void connect_pair(struct pair *p, SSL **client, SSL **server)
{
    BIO *to_server = BIO_new(BIO_s_mem()), *to_client = BIO_new(BIO_s_mem());
    int round, c = 0, s = 0;

    *client = SSL_new(p->client_ctx);
    *server = SSL_new(p->server_ctx);
    if (*client == NULL || *server == NULL || to_server == NULL || to_client == NULL)
        fail("SSL_new");
    BIO_up_ref(to_server);
    BIO_up_ref(to_client);
    SSL_set_bio(*client, to_client, to_server);
    SSL_set_bio(*server, to_server, to_client);
    SSL_set_connect_state(*client);
    SSL_set_accept_state(*server);
    for (round = 0; round < 10 && !(c == 1 && s == 1); round++) {
        if (c != 1)
            c = SSL_do_handshake(*client);
        if (s != 1)
            s = SSL_do_handshake(*server);
    }
    if (c != 1 || s != 1)
        fail("the handshake");
    if (!SSL_session_reused(*client) && strncmp(SSL_get_version(*client), "TLSv1.3", 7) == 0)
        fail("the PSK (not used)");
}

static void free_pair(struct pair *p)
{
    SSL_CTX_free(p->client_ctx);
    SSL_CTX_free(p->server_ctx);
    SSL_SESSION_free(tls13_session);
    tls13_session = NULL;
}

/* Complete handshakes for `seconds`; returns how many. */
EXPORT double bench_handshakes(const char *scenario, double seconds)
{
    struct pair p = make_pair(scenario, "TLS_AES_128_GCM_SHA256");
    double start = now(), end = start + seconds, count = 0;

    do {
        SSL *client, *server;
        connect_pair(&p, &client, &server);
        SSL_free(client);
        SSL_free(server);
        count++;
    } while (now() < end);
    free_pair(&p);
    return count / (now() - start);
}

/* Client-to-server application data in 16 KiB writes for `seconds`; returns bytes per second. */
EXPORT double bench_bulk(const char *suite, double seconds)
{
    static unsigned char plain[BULK_WRITE], got[BULK_WRITE];
    struct pair p = make_pair("tls13-psk_dhe_ke", suite);
    SSL *client, *server;
    double start, end, bytes = 0;

    memset(plain, 0x42, sizeof(plain));
    connect_pair(&p, &client, &server);
    start = now();
    end = start + seconds;
    do {
        size_t n = 0, total = 0;
        if (!SSL_write_ex(client, plain, sizeof(plain), &n) || n != sizeof(plain))
            fail("SSL_write_ex");
        while (total < sizeof(plain)) {
            if (!SSL_read_ex(server, got, sizeof(got), &n))
                fail("SSL_read_ex");
            total += n;
        }
        bytes += total;
    } while (now() < end);
    if (memcmp(got, plain, 16) != 0)
        fail("the bulk data check");
    SSL_free(client);
    SSL_free(server);
    free_pair(&p);
    return bytes / (now() - start);
}

/* X25519 alone, through EVP: key generations or derivations (with a fresh context each) per second. */
EXPORT double bench_x25519(const char *op, double seconds)
{
    EVP_PKEY_CTX *keygen = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    EVP_PKEY *ours = NULL, *peer = NULL;
    int derive = strcmp(op, "derive") == 0;
    double start, end, count = 0;

    if (!derive && strcmp(op, "keygen") != 0) {
        fprintf(stderr, "bench: x25519 takes keygen or derive, not %s\n", op);
        exit(2);
    }
    if (keygen == NULL || EVP_PKEY_keygen_init(keygen) <= 0 || EVP_PKEY_keygen(keygen, &ours) <= 0
        || EVP_PKEY_keygen(keygen, &peer) <= 0)
        fail("X25519 key generation");
    start = now();
    end = start + seconds;
    do {
        if (derive) {
            unsigned char secret[32];
            size_t len = sizeof(secret);
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ours, NULL);
            if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0
                || EVP_PKEY_derive_set_peer(ctx, peer) <= 0
                || EVP_PKEY_derive(ctx, secret, &len) <= 0)
                fail("X25519 derivation");
            EVP_PKEY_CTX_free(ctx);
        } else {
            EVP_PKEY *key = NULL;
            if (EVP_PKEY_keygen(keygen, &key) <= 0)
                fail("X25519 key generation");
            EVP_PKEY_free(key);
        }
        count++;
    } while (now() < end);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(keygen);
    return count / (now() - start);
}

static int unhex_n(const char *hex, unsigned char *out, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
            return 0;
    return 1;
}

static int unhex(const char *hex, unsigned char *out)
{
    return unhex_n(hex, out, 32);
}

static int x25519(unsigned char out[32], const unsigned char scalar[32],
                  const unsigned char point[32])
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, 32);
    EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
    size_t len = 32;
    int ok = ctx != NULL && peer != NULL && EVP_PKEY_derive_init(ctx) > 0
             && EVP_PKEY_derive_set_peer(ctx, peer) > 0 && EVP_PKEY_derive(ctx, out, &len) > 0
             && len == 32;

    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(peer);
    return ok;
}

/* ChaCha20 through EVP (iv = 32-bit counter || 96-bit nonce) of `len` zero bytes, in one call. */
static int chacha20_stream(unsigned char *out, size_t len, const unsigned char iv[16])
{
    static const unsigned char key[32];
    static unsigned char zeros[1024];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, ok = ctx != NULL && len <= sizeof(zeros)
                && EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv)
                && EVP_EncryptUpdate(ctx, out, &n, zeros, (int)len) && n == (int)len;

    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* libcrypto's internal ChaCha20 (crypto/include/internal/chacha.h): what the wasm patch changes. */
void ChaCha20_ctr32(unsigned char *out, const unsigned char *inp, size_t len,
                    const unsigned int key[8], const unsigned int counter[4]);

/*
 * ChaCha20_ctr32 over 1 KiB in one call (the wasm build's four-block path) equals the same
 * in 64-byte calls (the one-block path), in place too, with the 32-bit block counter starting
 * at `first` (close to 2^32 it wraps inside a four-block run).
 */
static int chacha20_paths_agree(unsigned int first)
{
    static const unsigned int key[8] = { 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c,
                                         0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c };
    unsigned char in[1024], whole[1024], pieces[1024];
    unsigned int counter[4] = { first, 0x09000000, 0x4a000000, 0 };
    size_t i;

    for (i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 131 + 7);
    ChaCha20_ctr32(whole, in, sizeof(in), key, counter);
    for (i = 0; i < sizeof(in); i += 64) {
        ChaCha20_ctr32(pieces + i, in + i, 64, key, counter);
        counter[0]++;
    }
    if (memcmp(whole, pieces, sizeof(whole)) != 0)
        return 0;
    counter[0] = first;
    memcpy(pieces, in, sizeof(in));
    ChaCha20_ctr32(pieces, pieces, sizeof(pieces), key, counter);
    return memcmp(whole, pieces, sizeof(whole)) == 0;
}

/*
 * ChaCha20: RFC 8439 appendix A.1 test vectors 1 and 2 (blocks 0 and 1 of the zero key and
 * nonce) through EVP in one 1 KiB call, and the two paths above from several counters.
 */
static int chacha20_selftest(void)
{
    static const char a1[] = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da415"
                             "97c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
                             "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b72"
                             "1769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
    static const unsigned int firsts[] = { 0, 1, 0xfffffffd, 0xfffffffe, 0xffffffff };
    unsigned char iv[16] = { 0 }, want[128], whole[1024];
    size_t i;
    int ok = unhex_n(a1, want, 128) && chacha20_stream(whole, sizeof(whole), iv)
             && memcmp(whole, want, 128) == 0;

    if (!ok)
        fprintf(stderr, "bench: RFC 8439 ChaCha20 vectors failed\n");
    for (i = 0; ok && i < sizeof(firsts) / sizeof(firsts[0]); i++) {
        if (!chacha20_paths_agree(firsts[i])) {
            fprintf(
                stderr,
                "bench: ChaCha20 in one call differs from ChaCha20 block by block (counter %u)\n",
                firsts[i]);
            ok = 0;
        }
    }
    return ok;
}

/*
 * X25519: RFC 7748 section 5.2, two single vectors and the iterated one (1 and 1,000
 * iterations); then ChaCha20 as above.
 */
EXPORT int bench_selftest(void)
{
    static const char *const vectors[][3] = {
        { "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
          "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
          "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
        { "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
          "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
          "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
    };
    static const char iterated_1[] =
        "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
    static const char iterated_1000[] =
        "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";
    unsigned char k[32], u[32], want[32], out[32];
    int i, failed = 0;

    for (i = 0; i < 2; i++) {
        if (!unhex(vectors[i][0], k) || !unhex(vectors[i][1], u) || !unhex(vectors[i][2], want)
            || !x25519(out, k, u) || memcmp(out, want, 32) != 0) {
            fprintf(stderr, "bench: RFC 7748 vector %d failed\n", i + 1);
            failed = 1;
        }
    }
    memset(k, 0, 32);
    k[0] = 9;
    memcpy(u, k, 32);
    for (i = 1; i <= 1000; i++) {
        if (!x25519(out, k, u))
            return 0;
        memcpy(u, k, 32);
        memcpy(k, out, 32);
        if (i == 1 || i == 1000) {
            unhex(i == 1 ? iterated_1 : iterated_1000, want);
            if (memcmp(k, want, 32) != 0) {
                fprintf(stderr, "bench: RFC 7748 iterated vector (%d iterations) failed\n", i);
                failed = 1;
            }
        }
    }
    return !failed && chacha20_selftest();
}

#ifdef __EMSCRIPTEN__
/* Seeds the DRBG from crypto.getRandomValues (getentropy), as wasm/shim/random.c does. */
static size_t get_entropy(RAND_DRBG *drbg, unsigned char **pout, int entropy, size_t min_len,
                          size_t max_len, int prediction_resistance)
{
    static unsigned char buf[256];
    size_t len = min_len > 48 ? min_len : 48;

    if (len > max_len || len > sizeof(buf) || getentropy(buf, len) != 0)
        return 0;
    *pout = buf;
    return len;
}

static size_t get_nonce(RAND_DRBG *drbg, unsigned char **pout, int entropy, size_t min_len,
                        size_t max_len)
{
    return get_entropy(drbg, pout, entropy, min_len, max_len, 0);
}

static void seed_from_platform(void)
{
    RAND_DRBG *master = RAND_DRBG_get0_master();

    if (master == NULL || !RAND_DRBG_uninstantiate(master)
        || !RAND_DRBG_set_callbacks(master, get_entropy, NULL, get_nonce, NULL)
        || !RAND_DRBG_instantiate(master, NULL, 0))
        fail("seeding the DRBG");
}
#endif

EXPORT int bench_init(void)
{
    if (!OPENSSL_init_ssl(0, NULL))
        fail("OPENSSL_init_ssl");
#ifdef __EMSCRIPTEN__
    seed_from_platform();
#endif
    return 1;
}

#ifndef __EMSCRIPTEN__
int main(int argc, char **argv)
{
    bench_init();
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) {
        int ok = bench_selftest();
        printf("{\"selftest\":%s}\n", ok ? "true" : "false");
        return ok ? 0 : 1;
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "handshake") == 0) {
        if (argc == 5)
            bench_handshakes(argv[2], atof(argv[4])); /* warm-up, not reported */
        printf("{\"perSecond\":%.3f}\n", bench_handshakes(argv[2], atof(argv[3])));
        return 0;
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "x25519") == 0) {
        if (argc == 5)
            bench_x25519(argv[2], atof(argv[4]));
        printf("{\"perSecond\":%.1f}\n", bench_x25519(argv[2], atof(argv[3])));
        return 0;
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "bulk") == 0) {
        if (argc == 5)
            bench_bulk(argv[2], atof(argv[4]));
        printf("{\"perSecond\":%.1f}\n", bench_bulk(argv[2], atof(argv[3])));
        return 0;
    }
    fprintf(stderr,
            "usage: bench handshake SCENARIO SECONDS [WARMUP] | bench bulk SUITE SECONDS [WARMUP]\n"
            "       | bench x25519 keygen|derive SECONDS [WARMUP] | bench selftest\n");
    return 2;
}
#endif
