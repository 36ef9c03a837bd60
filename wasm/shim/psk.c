/*
 * psk.c: the four PSK callback trampolines, C -> JavaScript.
 *
 * OpenSSL calls these synchronously in the middle of a handshake step. Each forwards to an
 * import implemented by the facade (declared in opw.h; src/core/ffi-imports.ts), which finds
 * the connection by its SSL pointer, runs the application's callback, and never throws: a
 * JavaScript exception becomes a failure return here and is rethrown by the facade as the
 * handshake error's cause.
 */
#include <openssl/ssl.h>
#include "opw.h"

/*
 * Ownership of *sess passes to OpenSSL, but the facade's SslSession object still holds its
 * own reference (an application may offer the same session to many connections), so give
 * OpenSSL a reference of its own.
 */
static int hand_over(SSL_SESSION *found, SSL_SESSION **sess)
{
    if (found != NULL && !SSL_SESSION_up_ref(found))
        return 0;
    *sess = found;
    return 1;
}

int opw_psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                           SSL_SESSION **sess)
{
    SSL_SESSION *found = NULL;

    *sess = NULL;
    if (!opw_js_psk_use_session(ssl, md, id, idlen, &found))
        return 0;
    return hand_over(found, sess);
}

unsigned int opw_psk_client_cb(SSL *ssl, const char *hint, char *identity,
                               unsigned int max_identity_len, unsigned char *psk,
                               unsigned int max_psk_len)
{
    return opw_js_psk_client(ssl, hint, identity, max_identity_len, psk, max_psk_len);
}

int opw_psk_find_session_cb(SSL *ssl, const unsigned char *identity, size_t identity_len,
                            SSL_SESSION **sess)
{
    SSL_SESSION *found = NULL;

    *sess = NULL;
    if (!opw_js_psk_find_session(ssl, identity, identity_len, &found))
        return 0;
    return hand_over(found, sess);
}

unsigned int opw_psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                               unsigned int max_psk_len)
{
    return opw_js_psk_server(ssl, identity, psk, max_psk_len);
}

/*
 * Server: the ClientHello callback runs before OpenSSL picks the suite, so the facade can
 * look up the client's PSK first and keep only suites of its digest (a 1.1.1 server would
 * otherwise pick the suite blind, then drop a PSK of another digest), and refuse an unknown
 * identity with unknown_psk_identity when it has no certificate to fall back on.
 *
 * It is also the one point of a TLS 1.3 server handshake that can wait: with an asynchronous
 * PSK lookup the facade answers OPW_CLIENT_HELLO_RETRY, SSL_do_handshake returns with
 * SSL_ERROR_WANT_CLIENT_HELLO_CB, and the next SSL_do_handshake calls this callback again on
 * the same ClientHello (statem_srvr.c keeps it until the callback says go on).
 */
int opw_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    int fail_with = opw_js_client_hello(ssl);

    if (fail_with == 0)
        return SSL_CLIENT_HELLO_SUCCESS;
    if (fail_with == OPW_CLIENT_HELLO_RETRY)
        return SSL_CLIENT_HELLO_RETRY;
    *alert = fail_with;
    return SSL_CLIENT_HELLO_ERROR;
}
