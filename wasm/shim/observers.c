/*
 * observers.c: what a context reports as it goes, for debugging: NSS key log lines
 * (SSL_CTX_set_keylog_callback, for Wireshark) and protocol messages
 * (SSL_CTX_set_msg_callback, for -msg). Both go to the facade through imports.
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include "opw.h"

static void keylog_line(const SSL *ssl, const char *line)
{
    opw_js_keylog((SSL *)ssl, line);
}

void opw_ctx_set_keylog(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_keylog_callback(ctx, on ? keylog_line : NULL);
}

static void message(int write_p, int version, int content_type, const void *buf, size_t len,
                    SSL *ssl, void *arg)
{
    opw_js_message(ssl, write_p, version, content_type, buf, len);
}

void opw_ctx_set_msg_callback(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_msg_callback(ctx, on ? message : NULL);
}

/*
 * SSL_CTX_sess_set_new_cb: each new session (in TLS 1.3, each ticket). The facade takes the
 * reference (returns 1) when the application wants sessions. A client context needs client
 * caching switched on for OpenSSL to report them, without an internal store.
 */
static int new_session(SSL *ssl, SSL_SESSION *session)
{
    return opw_js_new_session(ssl, session);
}

void opw_ctx_set_new_session_callback(SSL_CTX *ctx, int on)
{
    if (on && SSL_CTX_get_ssl_method(ctx) != TLS_server_method())
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on ? new_session : NULL);
}

/* PEM_write_bio_SSL_SESSION into new memory (*out, freed by the caller); returns its length. */
size_t opw_session_to_pem(SSL_SESSION *session, char **out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    size_t copied = 0;

    *out = NULL;
    if (bio == NULL || !PEM_write_bio_SSL_SESSION(bio, session))
        goto end;
    len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || (*out = OPENSSL_malloc((size_t)len)) == NULL)
        goto end;
    memcpy(*out, data, (size_t)len);
    copied = (size_t)len;
end:
    /* The BIO held the master key in PEM: clear it before it goes back to the allocator. */
    if (data != NULL && bio != NULL)
        OPENSSL_cleanse(data, (size_t)BIO_get_mem_data(bio, &data));
    BIO_free(bio);
    return copied;
}

/*
 * PEM_read_bio_SSL_SESSION, but through the "secmem" PEM reader: its line buffers and the
 * decoded DER (which holds the master key) are cleansed when freed, where PEM_ASN1_read_bio
 * frees them as they are. The ASN.1 template and the base64 context are cleansed by
 * wasm/patches/session-decoding-cleanse.patch.
 */
SSL_SESSION *opw_session_from_pem(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    unsigned char *der = NULL;
    const unsigned char *p;
    long der_len = 0;
    SSL_SESSION *session = NULL;

    if (bio != NULL
        && PEM_bytes_read_bio_secmem(&der, &der_len, NULL, PEM_STRING_SSL_SESSION, bio, NULL,
                                     NULL)) {
        p = der;
        session = d2i_SSL_SESSION(NULL, &p, der_len);
        if (session == NULL)
            PEMerr(PEM_F_PEM_ASN1_READ_BIO, ERR_R_ASN1_LIB);
    }
    OPENSSL_secure_clear_free(der, (size_t)der_len);
    BIO_free(bio);
    return session;
}
