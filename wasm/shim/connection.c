/*
 * connection.c: an SSL object over two memory BIOs, the sans-IO engine.
 *
 *   peer bytes --opw_conn_feed--> [rbio] --> SSL --> [wbio] --opw_conn_drain--> peer
 *
 * The engine calls clear the error queue first (SSL_get_error needs that) and return an
 * SSL_get_error() value, 0 meaning success; what they produce goes to out-parameters.
 */
#include <openssl/ec.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "opw.h"

/* What the facade needs to know after a failure, beyond the error queue. */
typedef struct {
    int alert_sent;     /* (level << 8) | description of the last alert sent, or -1 */
    int alert_received; /* the same for the last alert received */
} CONN_STATE;

static void record_alerts(const SSL *ssl, int where, int value)
{
    CONN_STATE *state = SSL_get_app_data(ssl);

    if ((where & SSL_CB_ALERT) == 0 || state == NULL)
        return;
    if (where & SSL_CB_READ)
        state->alert_received = value;
    else
        state->alert_sent = value;
}

SSL *opw_conn_new(SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    CONN_STATE *state = OPENSSL_zalloc(sizeof(*state));
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(BIO_s_mem());

    if (ssl == NULL || state == NULL || rbio == NULL || wbio == NULL) {
        SSL_free(ssl);
        OPENSSL_free(state);
        BIO_free(rbio);
        BIO_free(wbio);
        return NULL;
    }
    /* An empty read BIO means "no bytes yet" (retry), until opw_conn_feed_eof. */
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    state->alert_sent = state->alert_received = -1;
    SSL_set_app_data(ssl, state);
    SSL_set_info_callback(ssl, record_alerts);
    if (SSL_CTX_get_ssl_method(ctx) == TLS_server_method())
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    return ssl;
}

void opw_conn_free(SSL *ssl)
{
    if (ssl == NULL)
        return;
    OPENSSL_free(SSL_get_app_data(ssl));
    SSL_free(ssl);
}

int opw_conn_feed(SSL *ssl, const uint8_t *data, size_t len)
{
    if (len > INT32_MAX)
        return -1;
    return BIO_write(SSL_get_rbio(ssl), data, (int)len);
}

size_t opw_conn_pending_out(SSL *ssl)
{
    return BIO_ctrl_pending(SSL_get_wbio(ssl));
}

int opw_conn_drain(SSL *ssl, uint8_t *out, size_t cap)
{
    int n = BIO_read(SSL_get_wbio(ssl), out, cap > INT32_MAX ? INT32_MAX : (int)cap);

    return n < 0 ? 0 : n;
}

void opw_conn_feed_eof(SSL *ssl)
{
    BIO_set_mem_eof_return(SSL_get_rbio(ssl), 0);
}

int opw_conn_handshake(SSL *ssl)
{
    int ret;

    ERR_clear_error();
    ret = SSL_do_handshake(ssl);
    return ret == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, ret);
}

int opw_conn_read(SSL *ssl, uint8_t *out, size_t cap, size_t *nread)
{
    ERR_clear_error();
    *nread = 0;
    return SSL_read_ex(ssl, out, cap, nread) ? SSL_ERROR_NONE : SSL_get_error(ssl, 0);
}

int opw_conn_write(SSL *ssl, const uint8_t *data, size_t len, size_t *written)
{
    ERR_clear_error();
    *written = 0;
    return SSL_write_ex(ssl, data, len, written) ? SSL_ERROR_NONE : SSL_get_error(ssl, 0);
}

int opw_conn_write_early_data(SSL *ssl, const uint8_t *data, size_t len, size_t *written)
{
    ERR_clear_error();
    *written = 0;
    return SSL_write_early_data(ssl, data, len, written) ? SSL_ERROR_NONE : SSL_get_error(ssl, 0);
}

/* *finished: 1 once there is no more early data to read (SSL_READ_EARLY_DATA_FINISH). */
int opw_conn_read_early_data(SSL *ssl, uint8_t *out, size_t cap, size_t *nread, int *finished)
{
    int ret;

    ERR_clear_error();
    *nread = 0;
    *finished = 0;
    ret = SSL_read_early_data(ssl, out, cap, nread);
    if (ret == SSL_READ_EARLY_DATA_ERROR)
        return SSL_get_error(ssl, 0);
    *finished = ret == SSL_READ_EARLY_DATA_FINISH;
    return SSL_ERROR_NONE;
}

/* *complete: 1 once close_notify was both sent and received (SSL_shutdown returned 1). */
int opw_conn_shutdown(SSL *ssl, int *complete)
{
    int ret;

    ERR_clear_error();
    *complete = 0;
    ret = SSL_shutdown(ssl);
    if (ret < 0)
        return SSL_get_error(ssl, ret);
    *complete = ret == 1;
    return SSL_ERROR_NONE;
}

int opw_conn_is_server(SSL *ssl)
{
    return SSL_is_server(ssl);
}

int opw_conn_is_init_finished(SSL *ssl)
{
    return SSL_is_init_finished(ssl);
}

int opw_conn_shutdown_state(SSL *ssl)
{
    return SSL_get_shutdown(ssl);
}

const char *opw_conn_version(SSL *ssl)
{
    return SSL_get_version(ssl);
}

const SSL_CIPHER *opw_conn_cipher(SSL *ssl)
{
    return SSL_get_current_cipher(ssl);
}

const SSL_CIPHER *opw_conn_pending_cipher(SSL *ssl)
{
    return SSL_get_pending_cipher(ssl);
}

/* The suite at `index` in this connection's preference list (TLS 1.3 suites first), or NULL. */
const SSL_CIPHER *opw_conn_offered_cipher(SSL *ssl, int index)
{
    STACK_OF(SSL_CIPHER) *ciphers = SSL_get_ciphers(ssl);

    return index < sk_SSL_CIPHER_num(ciphers) ? sk_SSL_CIPHER_value(ciphers, index) : NULL;
}

/*
 * The group of the peer's ephemeral key (SSL_get_peer_tmp_key) in TLS group names: 'X25519',
 * 'P-256', 'DH' (TLS 1.2 DHE); NULL when no key was exchanged (TLS 1.3 psk_ke, TLS 1.2 PSK).
 */
const char *opw_conn_key_exchange_group(SSL *ssl)
{
    EVP_PKEY *key = NULL;
    const char *name = NULL;

    if (!SSL_get_peer_tmp_key(ssl, &key))
        return NULL;
    switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC:
        name = EC_curve_nid2nist(
            EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key))));
        break;
    case EVP_PKEY_DH:
        name = "DH";
        break;
    default:
        name = OBJ_nid2sn(EVP_PKEY_id(key));
    }
    EVP_PKEY_free(key);
    return name;
}

int opw_conn_session_reused(SSL *ssl)
{
    return SSL_session_reused(ssl);
}

int opw_conn_early_data_status(SSL *ssl)
{
    return SSL_get_early_data_status(ssl);
}

int opw_conn_alert(SSL *ssl, int received)
{
    CONN_STATE *state = SSL_get_app_data(ssl);

    return received ? state->alert_received : state->alert_sent;
}

const char *opw_conn_psk_identity(SSL *ssl)
{
    return SSL_get_psk_identity(ssl);
}

const char *opw_conn_psk_identity_hint(SSL *ssl)
{
    return SSL_get_psk_identity_hint(ssl);
}

SSL_SESSION *opw_conn_get1_session(SSL *ssl)
{
    return SSL_get1_session(ssl);
}

int opw_conn_set_session(SSL *ssl, SSL_SESSION *session)
{
    return SSL_set_session(ssl, session);
}

int opw_conn_set_ciphersuites(SSL *ssl, const char *list)
{
    return SSL_set_ciphersuites(ssl, list);
}

/* Server name to send (SNI) and to verify the certificate against; an IP literal is verified
 * as an address and not sent, as RFC 6066 forbids IP literals in SNI. */
int opw_conn_set_host(SSL *ssl, const char *name)
{
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name))
        return 1;
    ERR_clear_error();
    return SSL_set_tlsext_host_name(ssl, name) && SSL_set1_host(ssl, name);
}

int opw_conn_in_before(SSL *ssl)
{
    return SSL_in_before(ssl);
}

int opw_conn_tls13_enabled(SSL *ssl)
{
    long max = SSL_get_max_proto_version(ssl);

    return max == 0 || max >= TLS1_3_VERSION;
}

/* Bytes OpenSSL holds that are not yet a whole record (or unread plaintext): SSL_has_pending. */
int opw_conn_has_pending(SSL *ssl)
{
    return SSL_has_pending(ssl);
}

int opw_conn_has_certificate(SSL *ssl)
{
    return SSL_get_certificate(ssl) != NULL;
}

/*
 * Inside the ClientHello callback: could this PSK identity be one of the server's own
 * resumption tickets? OpenSSL's start with the 16-byte name of the context's ticket key,
 * then an IV (tls_decrypt_ticket); with SSL_OP_NO_TICKET the identity is a session ID. The
 * ticket keys never leave this function.
 */
int opw_conn_may_be_own_ticket(SSL *ssl, const uint8_t *identity, size_t len)
{
    unsigned char keys[80]; /* name, HMAC key, AES key: the only size OpenSSL accepts */
    int match;

    if (SSL_get_options(ssl) & SSL_OP_NO_TICKET)
        return len == SSL_MAX_SSL_SESSION_ID_LENGTH;
    if (len < 16 + EVP_MAX_IV_LENGTH)
        return 0;
    if (SSL_CTX_get_tlsext_ticket_keys(SSL_get_SSL_CTX(ssl), keys, sizeof(keys)) <= 0)
        return 0;
    match = CRYPTO_memcmp(identity, keys, 16) == 0;
    OPENSSL_cleanse(keys, sizeof(keys));
    return match;
}

/* Inside the ClientHello callback: the body of extension `type`, or 0 bytes if absent. */
size_t opw_conn_client_hello_ext(SSL *ssl, unsigned int type, const uint8_t **out)
{
    size_t len = 0;

    if (!SSL_client_hello_get0_ext(ssl, type, out, &len))
        return 0;
    return len;
}

/* Inside the ClientHello callback: the client's cipher suites, two bytes each. */
size_t opw_conn_client_hello_ciphers(SSL *ssl, const uint8_t **out)
{
    return SSL_client_hello_get0_ciphers(ssl, out);
}

void opw_conn_set_psk_use_session_callback(SSL *ssl, int on)
{
    SSL_set_psk_use_session_callback(ssl, on ? opw_psk_use_session_cb : NULL);
}

void opw_conn_set_psk_client_callback(SSL *ssl, int on)
{
    SSL_set_psk_client_callback(ssl, on ? opw_psk_client_cb : NULL);
}

void opw_conn_set_psk_find_session_callback(SSL *ssl, int on)
{
    SSL_set_psk_find_session_callback(ssl, on ? opw_psk_find_session_cb : NULL);
}

void opw_conn_set_psk_server_callback(SSL *ssl, int on)
{
    SSL_set_psk_server_callback(ssl, on ? opw_psk_server_cb : NULL);
}
