/* cipher.c: SSL_CIPHER and EVP_MD lookups. Both are static tables owned by OpenSSL. */
#include <string.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include "opw.h"

/* SSL_CIPHER_find() needs an SSL; a private one with every suite this build has. */
static SSL *lookup_ssl(void)
{
    static SSL *ssl;
    SSL_CTX *ctx;

    if (ssl != NULL)
        return ssl;
    ctx = SSL_CTX_new(TLS_method());
    if (ctx != NULL && SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL")
        && SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                         "TLS_CHACHA20_POLY1305_SHA256:"
                                         "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"))
        ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps its own reference */
    return ssl;
}

const SSL_CIPHER *opw_cipher_find(const uint8_t *id)
{
    SSL *ssl = lookup_ssl();

    return ssl == NULL ? NULL : SSL_CIPHER_find(ssl, id);
}

/* By OpenSSL name (ECDHE-PSK-CHACHA20-POLY1305) or IANA name (TLS_AES_128_GCM_SHA256). */
const SSL_CIPHER *opw_cipher_by_name(const char *name)
{
    SSL *ssl = lookup_ssl();
    STACK_OF(SSL_CIPHER) *all = ssl == NULL ? NULL : SSL_get_ciphers(ssl);
    int i;

    for (i = 0; i < sk_SSL_CIPHER_num(all); i++) {
        const SSL_CIPHER *cipher = sk_SSL_CIPHER_value(all, i);
        const char *standard = SSL_CIPHER_standard_name(cipher);

        if (strcmp(SSL_CIPHER_get_name(cipher), name) == 0
            || (standard != NULL && strcmp(standard, name) == 0))
            return cipher;
    }
    return NULL;
}

const char *opw_cipher_name(const SSL_CIPHER *cipher)
{
    return SSL_CIPHER_get_name(cipher);
}

const char *opw_cipher_standard_name(const SSL_CIPHER *cipher)
{
    return SSL_CIPHER_standard_name(cipher);
}

const char *opw_cipher_version(const SSL_CIPHER *cipher)
{
    return SSL_CIPHER_get_version(cipher);
}

uint32_t opw_cipher_protocol_id(const SSL_CIPHER *cipher)
{
    return SSL_CIPHER_get_protocol_id(cipher);
}

const EVP_MD *opw_cipher_handshake_digest(const SSL_CIPHER *cipher)
{
    return SSL_CIPHER_get_handshake_digest(cipher);
}

const char *opw_digest_name(const EVP_MD *md)
{
    return OBJ_nid2sn(EVP_MD_type(md));
}

int opw_digest_size(const EVP_MD *md)
{
    return EVP_MD_size(md);
}
