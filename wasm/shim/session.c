/* session.c: SSL_SESSION, the basis of a TLS 1.3 PSK. */
#include <openssl/ssl.h>
#include "opw.h"

SSL_SESSION *opw_session_new(void)
{
    return SSL_SESSION_new();
}

void opw_session_free(SSL_SESSION *session)
{
    SSL_SESSION_free(session);
}

/* A reference of the caller's own, for a session that must outlive its giver's free(). */
int opw_session_up_ref(SSL_SESSION *session)
{
    return SSL_SESSION_up_ref(session);
}

int opw_session_set1_master_key(SSL_SESSION *session, const uint8_t *key, size_t len)
{
    return SSL_SESSION_set1_master_key(session, key, len);
}

int opw_session_set_cipher(SSL_SESSION *session, const SSL_CIPHER *cipher)
{
    return SSL_SESSION_set_cipher(session, cipher);
}

int opw_session_set_protocol_version(SSL_SESSION *session, int version)
{
    return SSL_SESSION_set_protocol_version(session, version);
}

int opw_session_set_max_early_data(SSL_SESSION *session, uint32_t max)
{
    return SSL_SESSION_set_max_early_data(session, max);
}

const SSL_CIPHER *opw_session_cipher(SSL_SESSION *session)
{
    return SSL_SESSION_get0_cipher(session);
}

int opw_session_protocol_version(SSL_SESSION *session)
{
    return SSL_SESSION_get_protocol_version(session);
}

uint32_t opw_session_max_early_data(SSL_SESSION *session)
{
    return SSL_SESSION_get_max_early_data(session);
}

size_t opw_session_master_key_length(SSL_SESSION *session)
{
    return SSL_SESSION_get_master_key(session, NULL, 0);
}

int opw_session_is_resumable(SSL_SESSION *session)
{
    return SSL_SESSION_is_resumable(session);
}
