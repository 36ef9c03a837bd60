/* context.c: SSL_CTX creation and configuration. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "opw.h"

SSL_CTX *opw_ctx_new(int server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL)
        return NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /*
     * No renegotiation: a TLS 1.2 renegotiation in the middle of a sans-IO stream would make
     * write() need input. Refused the standard way (no_renegotiation alert).
     * Buffers released when idle: an idle connection holds no 17 KiB record buffers.
     */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (server) {
        SSL_CTX_set_dh_auto(ctx, 1); /* DHE-PSK: FFDHE parameters sized to the suite */
        SSL_CTX_set_client_hello_cb(ctx, opw_client_hello_cb, NULL);
    }
    return ctx;
}

void opw_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

int opw_ctx_set_versions(SSL_CTX *ctx, int min_version, int max_version)
{
    return SSL_CTX_set_min_proto_version(ctx, min_version)
           && SSL_CTX_set_max_proto_version(ctx, max_version);
}

int opw_ctx_set_ciphersuites(SSL_CTX *ctx, const char *list)
{
    return SSL_CTX_set_ciphersuites(ctx, list);
}

int opw_ctx_set_cipher_list(SSL_CTX *ctx, const char *list)
{
    return SSL_CTX_set_cipher_list(ctx, list);
}

int opw_ctx_set_groups(SSL_CTX *ctx, const char *list)
{
    return SSL_CTX_set1_groups_list(ctx, list);
}

void opw_ctx_set_allow_no_dhe_kex(SSL_CTX *ctx, int on)
{
    if (on)
        SSL_CTX_set_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
    else
        SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
}

void opw_ctx_set_server_preference(SSL_CTX *ctx, int on)
{
    if (on)
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    else
        SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
}

int opw_ctx_set_max_early_data(SSL_CTX *ctx, uint32_t max)
{
    return SSL_CTX_set_max_early_data(ctx, max);
}

int opw_ctx_set_num_tickets(SSL_CTX *ctx, size_t count)
{
    return SSL_CTX_set_num_tickets(ctx, count);
}

#ifdef OPW_PSK_ONLY
/*
 * The PSK build (OPW_PSK_ONLY) has no certificates: the facade refuses them before calling
 * these (opw_build_has_certificates), so none of the PEM, X.509 and private key code is linked.
 */
int opw_ctx_use_certificate_chain_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    SSLerr(SSL_F_SSL_CTX_USE_CERTIFICATE, ERR_R_DISABLED);
    return 0;
}

int opw_ctx_use_private_key_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    SSLerr(SSL_F_SSL_CTX_USE_PRIVATEKEY, ERR_R_DISABLED);
    return 0;
}

int opw_ctx_add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    SSLerr(SSL_F_SSL_CTX_USE_CERTIFICATE, ERR_R_DISABLED);
    return 0;
}
#else
/* PEM input is never encrypted here: refuse to prompt for a password. */
static int no_password(char *buf, int size, int rwflag, void *userdata)
{
    return -1;
}

/* After reading PEM objects until the input ends, the queue holds "no start line": expected. */
static int pem_input_ended(void)
{
    unsigned long e = ERR_peek_last_error();

    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return 1;
    }
    return 0;
}

int opw_ctx_use_certificate_chain_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert;
    int ok = 0;

    if (bio == NULL)
        return 0;
    cert = PEM_read_bio_X509(bio, NULL, no_password, NULL);
    if (cert == NULL || !SSL_CTX_use_certificate(ctx, cert) || !SSL_CTX_clear_chain_certs(ctx))
        goto end;
    X509_free(cert);
    while ((cert = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        if (!SSL_CTX_add0_chain_cert(ctx, cert))
            goto end;
    }
    ok = pem_input_ended();
end:
    X509_free(cert);
    BIO_free(bio);
    return ok;
}

int opw_ctx_use_private_key_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key;
    int ok;

    if (bio == NULL)
        return 0;
    key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) && SSL_CTX_check_private_key(ctx);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

int opw_ctx_add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509 *cert;
    int added = 0;

    if (bio == NULL)
        return 0;
    while ((cert = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(store, cert);

        X509_free(cert);
        if (!ok)
            break;
        added++;
    }
    BIO_free(bio);
    return cert == NULL && added > 0 && pem_input_ended();
}
#endif

void opw_ctx_set_verify_peer(SSL_CTX *ctx, int on)
{
    int server = SSL_CTX_get_ssl_method(ctx) == TLS_server_method();
    int mode = SSL_VERIFY_NONE;

    if (on)
        mode = server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, mode, NULL);
}

int opw_ctx_use_psk_identity_hint(SSL_CTX *ctx, const char *hint)
{
    return SSL_CTX_use_psk_identity_hint(ctx, hint);
}

void opw_ctx_set_psk_use_session_callback(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_psk_use_session_callback(ctx, on ? opw_psk_use_session_cb : NULL);
}

void opw_ctx_set_psk_client_callback(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_psk_client_callback(ctx, on ? opw_psk_client_cb : NULL);
}

void opw_ctx_set_psk_find_session_callback(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_psk_find_session_callback(ctx, on ? opw_psk_find_session_cb : NULL);
}

void opw_ctx_set_psk_server_callback(SSL_CTX *ctx, int on)
{
    SSL_CTX_set_psk_server_callback(ctx, on ? opw_psk_server_cb : NULL);
}
