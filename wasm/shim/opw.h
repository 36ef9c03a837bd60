/*
 * opw.h: the whole FFI surface between the TypeScript facade and OpenSSL, both ways.
 *
 * Every function the .wasm exports is declared here, one per line, as
 *     OPW_EXPORT <return type> opw_<name>(<parameters>);
 * and every function it imports from JavaScript as
 *     OPW_IMPORT(<failure value>) <return type> opw_js_<name>(<parameters>);
 * scripts/gen-ffi.mjs reads these lines and writes, from them alone: emcc's export list, the
 * --js-library that forwards each import to the facade, and the typed, guarded bindings in
 * src/core/ffi.ts (exports) and src/core/ffi-imports.ts (imports), so none of them can
 * disagree with this file.
 *
 * Conventions
 * - Status returns: 1 success, 0 failure with the reason on OpenSSL's error queue,
 *   unless a comment says otherwise.
 * - Engine calls (opw_conn_handshake, _read, _write, _write_early_data, _read_early_data,
 *   _shutdown) clear the error queue first and return an SSL_get_error() value, 0
 *   (SSL_ERROR_NONE) meaning success; what they produce goes to out-parameters.
 * - Buffers passed in are borrowed for the duration of the call; pointers returned are
 *   borrowed from OpenSSL (static tables, or owned by the object passed in) unless the
 *   name says new/get1, in which case the caller owns one reference.
 * - Memory that changes hands is marked, and the generated types follow the marks:
 *   OPW_OWNED on a returned buffer: the caller frees it (opw_free, or opw_cleanse_free);
 *   OPW_OWNED on a buffer parameter: the call takes it over (frees it);
 *   OPW_OWNED on a T ** out-parameter: *out is the caller's to free;
 *   OPW_BORROWED on a T ** out-parameter: *out points into memory OpenSSL owns, never freed.
 * - An import never throws into wasm: if the facade's hook throws (or is not installed yet),
 *   the import returns the failure value given in OPW_IMPORT(…), which fails closed.
 */
#ifndef OPW_H
#define OPW_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <emscripten/emscripten.h>

#define OPW_EXPORT EMSCRIPTEN_KEEPALIVE
#define OPW_IMPORT(failure_value) extern
#define OPW_OWNED
#define OPW_BORROWED

/* init.c: library set-up, memory, errors */
OPW_EXPORT int opw_init(void);
OPW_EXPORT const char *opw_version(void);
OPW_EXPORT OPW_OWNED uint8_t *opw_alloc(size_t len);
OPW_EXPORT void opw_free(OPW_OWNED void *ptr);
OPW_EXPORT void opw_cleanse_free(OPW_OWNED void *ptr, size_t len);
OPW_EXPORT size_t opw_heap_in_use(void);
OPW_EXPORT int opw_build_has_certificates(void); /* 0 in the PSK build, 1 in the full build */
OPW_EXPORT uint32_t opw_err_get(void);
OPW_EXPORT void opw_err_string(uint32_t code, char *buf, size_t len);

/* random.c: the CSPRNG seed source */
OPW_EXPORT int opw_random_bytes(uint8_t *buf, size_t len);

/* context.c: SSL_CTX */
OPW_EXPORT SSL_CTX *opw_ctx_new(int server);
OPW_EXPORT void opw_ctx_free(SSL_CTX *ctx);
OPW_EXPORT int opw_ctx_set_versions(SSL_CTX *ctx, int min_version, int max_version);
OPW_EXPORT int opw_ctx_set_ciphersuites(SSL_CTX *ctx, const char *list);
OPW_EXPORT int opw_ctx_set_cipher_list(SSL_CTX *ctx, const char *list);
OPW_EXPORT int opw_ctx_set_groups(SSL_CTX *ctx, const char *list);
OPW_EXPORT void opw_ctx_set_allow_no_dhe_kex(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_server_preference(SSL_CTX *ctx, int on);
OPW_EXPORT int opw_ctx_set_max_early_data(SSL_CTX *ctx, uint32_t max);
OPW_EXPORT int opw_ctx_set_num_tickets(SSL_CTX *ctx, size_t count);
OPW_EXPORT int opw_ctx_use_certificate_chain_pem(SSL_CTX *ctx, const char *pem, size_t len);
OPW_EXPORT int opw_ctx_use_private_key_pem(SSL_CTX *ctx, const char *pem, size_t len);
OPW_EXPORT int opw_ctx_add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len);
OPW_EXPORT void opw_ctx_set_verify_peer(SSL_CTX *ctx, int on);
OPW_EXPORT int opw_ctx_use_psk_identity_hint(SSL_CTX *ctx, const char *hint);
OPW_EXPORT void opw_ctx_set_psk_use_session_callback(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_psk_client_callback(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_psk_find_session_callback(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_psk_server_callback(SSL_CTX *ctx, int on);

/* observers.c: key log and message callbacks, session PEM */
OPW_EXPORT void opw_ctx_set_keylog(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_msg_callback(SSL_CTX *ctx, int on);
OPW_EXPORT void opw_ctx_set_new_session_callback(SSL_CTX *ctx, int on);
OPW_EXPORT size_t opw_session_to_pem(SSL_SESSION *session, OPW_OWNED char **out);
OPW_EXPORT SSL_SESSION *opw_session_from_pem(const char *pem, size_t len);

/* connection.c: SSL over two memory BIOs (sans-IO) */
OPW_EXPORT SSL *opw_conn_new(SSL_CTX *ctx);
OPW_EXPORT void opw_conn_free(SSL *ssl);
OPW_EXPORT int opw_conn_feed(SSL *ssl, const uint8_t *data, size_t len);
OPW_EXPORT size_t opw_conn_pending_out(SSL *ssl);
OPW_EXPORT int opw_conn_drain(SSL *ssl, uint8_t *out, size_t cap);
OPW_EXPORT void opw_conn_feed_eof(SSL *ssl);
OPW_EXPORT int opw_conn_handshake(SSL *ssl);
OPW_EXPORT int opw_conn_read(SSL *ssl, uint8_t *out, size_t cap, size_t *nread);
OPW_EXPORT int opw_conn_write(SSL *ssl, const uint8_t *data, size_t len, size_t *written);
OPW_EXPORT int opw_conn_write_early_data(SSL *ssl, const uint8_t *data, size_t len,
                                         size_t *written);
OPW_EXPORT int opw_conn_read_early_data(SSL *ssl, uint8_t *out, size_t cap, size_t *nread,
                                        int *finished);
OPW_EXPORT int opw_conn_shutdown(SSL *ssl, int *complete);
OPW_EXPORT int opw_conn_is_server(SSL *ssl);
OPW_EXPORT int opw_conn_is_init_finished(SSL *ssl);
OPW_EXPORT int opw_conn_shutdown_state(SSL *ssl);
OPW_EXPORT const char *opw_conn_version(SSL *ssl);
OPW_EXPORT const SSL_CIPHER *opw_conn_cipher(SSL *ssl);
OPW_EXPORT const SSL_CIPHER *opw_conn_pending_cipher(SSL *ssl);
OPW_EXPORT const SSL_CIPHER *opw_conn_offered_cipher(SSL *ssl, int index);
OPW_EXPORT int opw_conn_session_reused(SSL *ssl);
OPW_EXPORT const char *opw_conn_key_exchange_group(SSL *ssl);
OPW_EXPORT int opw_conn_early_data_status(SSL *ssl);
OPW_EXPORT int opw_conn_alert(SSL *ssl, int received);
OPW_EXPORT const char *opw_conn_psk_identity(SSL *ssl);
OPW_EXPORT const char *opw_conn_psk_identity_hint(SSL *ssl);
OPW_EXPORT SSL_SESSION *opw_conn_get1_session(SSL *ssl);
OPW_EXPORT int opw_conn_set_session(SSL *ssl, SSL_SESSION *session);
OPW_EXPORT int opw_conn_set_ciphersuites(SSL *ssl, const char *list);
OPW_EXPORT int opw_conn_set_host(SSL *ssl, const char *name);
OPW_EXPORT int opw_conn_in_before(SSL *ssl);
OPW_EXPORT int opw_conn_tls13_enabled(SSL *ssl);
OPW_EXPORT int opw_conn_has_pending(SSL *ssl);
OPW_EXPORT int opw_conn_has_certificate(SSL *ssl);
OPW_EXPORT int opw_conn_may_be_own_ticket(SSL *ssl, const uint8_t *identity, size_t len);
OPW_EXPORT size_t opw_conn_client_hello_ext(SSL *ssl, unsigned int type,
                                            OPW_BORROWED const uint8_t **out);
OPW_EXPORT size_t opw_conn_client_hello_ciphers(SSL *ssl, OPW_BORROWED const uint8_t **out);
OPW_EXPORT void opw_conn_set_psk_use_session_callback(SSL *ssl, int on);
OPW_EXPORT void opw_conn_set_psk_client_callback(SSL *ssl, int on);
OPW_EXPORT void opw_conn_set_psk_find_session_callback(SSL *ssl, int on);
OPW_EXPORT void opw_conn_set_psk_server_callback(SSL *ssl, int on);

/* session.c: SSL_SESSION */
OPW_EXPORT SSL_SESSION *opw_session_new(void);
OPW_EXPORT void opw_session_free(SSL_SESSION *session);
OPW_EXPORT int opw_session_up_ref(SSL_SESSION *session);
OPW_EXPORT int opw_session_set1_master_key(SSL_SESSION *session, const uint8_t *key, size_t len);
OPW_EXPORT int opw_session_set_cipher(SSL_SESSION *session, const SSL_CIPHER *cipher);
OPW_EXPORT int opw_session_set_protocol_version(SSL_SESSION *session, int version);
OPW_EXPORT int opw_session_set_max_early_data(SSL_SESSION *session, uint32_t max);
OPW_EXPORT const SSL_CIPHER *opw_session_cipher(SSL_SESSION *session);
OPW_EXPORT int opw_session_protocol_version(SSL_SESSION *session);
OPW_EXPORT uint32_t opw_session_max_early_data(SSL_SESSION *session);
OPW_EXPORT size_t opw_session_master_key_length(SSL_SESSION *session);
OPW_EXPORT int opw_session_is_resumable(SSL_SESSION *session);

/* cipher.c: SSL_CIPHER and EVP_MD, static tables owned by OpenSSL */
OPW_EXPORT const SSL_CIPHER *opw_cipher_find(const uint8_t *id);
OPW_EXPORT const SSL_CIPHER *opw_cipher_by_name(const char *name);
OPW_EXPORT const char *opw_cipher_name(const SSL_CIPHER *cipher);
OPW_EXPORT const char *opw_cipher_standard_name(const SSL_CIPHER *cipher);
OPW_EXPORT const char *opw_cipher_version(const SSL_CIPHER *cipher);
OPW_EXPORT uint32_t opw_cipher_protocol_id(const SSL_CIPHER *cipher);
OPW_EXPORT const EVP_MD *opw_cipher_handshake_digest(const SSL_CIPHER *cipher);
OPW_EXPORT const char *opw_digest_name(const EVP_MD *md);
OPW_EXPORT int opw_digest_size(const EVP_MD *md);

/* Imports, implemented by the facade; the failure value is what each returns if that fails. */
/* One a line: clang-format takes OPW_IMPORT(...) for a call and would break the line after it. */
/* clang-format off */
OPW_IMPORT(0) int opw_js_random(uint8_t *buf, size_t len);
OPW_IMPORT(0) int opw_js_psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess);
/* 0xffffffff is above PSK_MAX_PSK_LEN: a fatal error in TLS 1.2 and 1.3 alike (0 would mean "no PSK"). */
OPW_IMPORT(0xffffffff) unsigned int opw_js_psk_client(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len, unsigned char *psk, unsigned int max_psk_len);
OPW_IMPORT(0) int opw_js_psk_find_session(SSL *ssl, const unsigned char *identity, size_t identity_len, SSL_SESSION **sess);
OPW_IMPORT(0xffffffff) unsigned int opw_js_psk_server(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len);
/* Returns 0 to go on, OPW_CLIENT_HELLO_RETRY (-1) to suspend the handshake until the next SSL_do_handshake, or the TLS alert to fail it with (80: internal_error). */
OPW_IMPORT(80) int opw_js_client_hello(SSL *ssl);
OPW_IMPORT() void opw_js_keylog(SSL *ssl, const char *line);
/* Returns 1 if the facade took the reference to `session`, 0 if not; 1 on failure: at worst a leak, never a double free. */
OPW_IMPORT(1) int opw_js_new_session(SSL *ssl, SSL_SESSION *session);
OPW_IMPORT() void opw_js_message(SSL *ssl, int write_p, int version, int content_type, const void *buf, size_t len);
/* clang-format on */

/* Shared between the shim's files, not exported. */
#define OPW_CLIENT_HELLO_RETRY (-1)
int opw_random_install(void);
int opw_psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                           SSL_SESSION **sess);
unsigned int opw_psk_client_cb(SSL *ssl, const char *hint, char *identity,
                               unsigned int max_identity_len, unsigned char *psk,
                               unsigned int max_psk_len);
int opw_psk_find_session_cb(SSL *ssl, const unsigned char *identity, size_t identity_len,
                            SSL_SESSION **sess);
unsigned int opw_psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                               unsigned int max_psk_len);
int opw_client_hello_cb(SSL *ssl, int *alert, void *arg);

#endif
