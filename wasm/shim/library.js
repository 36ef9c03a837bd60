/*
 * library.js: the JavaScript side of the shim's imports (emcc --js-library).
 *
 * Each import forwards to a hook the facade installs on the module object after
 * instantiation (src/tls/hooks.ts). Hooks never throw: an exception thrown through wasm
 * frames would leave OpenSSL half-way through a handshake step. Until the facade installs
 * its hooks, every import fails closed.
 */
mergeInto(LibraryManager.library, {
  opw_js_random: function (buf, len) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['random'](buf, len) : 0;
  },
  opw_js_psk_use_session: function (ssl, md, idOut, idLenOut, sessOut) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['pskUseSession'](ssl, md, idOut, idLenOut, sessOut) : 0;
  },
  opw_js_psk_client: function (ssl, hint, identity, maxIdentityLen, psk, maxPskLen) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['pskClient'](ssl, hint, identity, maxIdentityLen, psk, maxPskLen) : 0;
  },
  opw_js_psk_find_session: function (ssl, identity, identityLen, sessOut) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['pskFindSession'](ssl, identity, identityLen, sessOut) : 0;
  },
  opw_js_psk_server: function (ssl, identity, psk, maxPskLen) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['pskServer'](ssl, identity, psk, maxPskLen) : 0;
  },
  opw_js_client_hello: function (ssl) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['clientHello'](ssl) : 80;
  },
  opw_js_keylog: function (ssl, line) {
    var hooks = Module['opwHooks'];
    if (hooks) hooks['keylog'](ssl, line);
  },
  opw_js_new_session: function (ssl, session) {
    var hooks = Module['opwHooks'];
    return hooks ? hooks['newSession'](ssl, session) : 0;
  },
  opw_js_message: function (ssl, writeP, version, contentType, buf, len) {
    var hooks = Module['opwHooks'];
    if (hooks) hooks['message'](ssl, writeP, version, contentType, buf, len);
  },
});
