/* init.c: library set-up, the allocator, and the error queue. */
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "opw.h"

int opw_init(void)
{
    /* No configuration file, ever: this build has no filesystem. */
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS
                              | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
                          NULL))
        return 0;
    /* Refuse to run without a working CSPRNG: nothing below may use a weak seed. */
    return opw_random_install();
}

const char *opw_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

uint8_t *opw_alloc(size_t len)
{
    return OPENSSL_malloc(len > 0 ? len : 1);
}

void opw_free(void *ptr)
{
    OPENSSL_free(ptr);
}

void opw_cleanse_free(void *ptr, size_t len)
{
    OPENSSL_clear_free(ptr, len);
}

size_t opw_heap_in_use(void)
{
    struct mallinfo info = mallinfo();

    return (size_t)info.uordblks;
}

int opw_build_has_certificates(void)
{
#ifdef OPW_PSK_ONLY
    return 0;
#else
    return 1;
#endif
}

uint32_t opw_err_get(void)
{
    return (uint32_t)ERR_get_error();
}

void opw_err_string(uint32_t code, char *buf, size_t len)
{
    ERR_error_string_n(code, buf, len);
}
