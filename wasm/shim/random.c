/*
 * random.c: the platform CSPRNG as OpenSSL's only entropy source.
 *
 * OpenSSL is configured with --with-rand-seed=none, so it has no seed source of its own and
 * cannot fall back to a weak one. Here the master DRBG is re-instantiated with entropy and
 * nonce callbacks that read crypto.getRandomValues() through an import (opw_js_random).
 * The public and private DRBGs seed themselves from the master, as in any OpenSSL build.
 * If the platform has no CSPRNG the callbacks fail, instantiation fails, and opw_init()
 * reports it: the module refuses to run rather than run unseeded.
 */
#include <openssl/rand.h>
#include <openssl/rand_drbg.h>
#include "opw.h"

static const char personalisation[] = "openssl-psk-wasm master DRBG";

static size_t fill_from_platform(unsigned char **pout, size_t min_len, size_t max_len, size_t want)
{
    size_t len = want < min_len ? min_len : want;
    unsigned char *buf;

    if (len > max_len)
        return 0;
    buf = OPENSSL_secure_malloc(len);
    if (buf == NULL)
        return 0;
    if (!opw_js_random(buf, len)) {
        OPENSSL_secure_clear_free(buf, len);
        return 0;
    }
    *pout = buf;
    return len;
}

static size_t get_entropy(RAND_DRBG *drbg, unsigned char **pout, int entropy, size_t min_len,
                          size_t max_len, int prediction_resistance)
{
    return fill_from_platform(pout, min_len, max_len, (size_t)(entropy + 7) / 8);
}

static size_t get_nonce(RAND_DRBG *drbg, unsigned char **pout, int entropy, size_t min_len,
                        size_t max_len)
{
    return fill_from_platform(pout, min_len, max_len, (size_t)(entropy + 7) / 8);
}

static void cleanup(RAND_DRBG *drbg, unsigned char *out, size_t outlen)
{
    OPENSSL_secure_clear_free(out, outlen);
}

int opw_random_install(void)
{
    RAND_DRBG *master = RAND_DRBG_get0_master();

    /* get0_master tried (and, with no seed source, failed) to instantiate: start over. */
    if (master == NULL || !RAND_DRBG_uninstantiate(master)
        || !RAND_DRBG_set_callbacks(master, get_entropy, cleanup, get_nonce, cleanup)
        || !RAND_DRBG_instantiate(master, (const unsigned char *)personalisation,
                                  sizeof(personalisation) - 1))
        return 0;
    return RAND_status() == 1;
}

int opw_random_bytes(uint8_t *buf, size_t len)
{
    return len <= INT32_MAX && RAND_bytes(buf, (int)len) == 1;
}
