// The browser example: the TLS engine in the page, connectTls() through the bridge.
import { connectTls } from '/lib/openssl-psk-wasm.js';
import { fromHex, runPage } from './ui.js';

await runPage(async ({ url, identity, keyHex, maxVersion }) => connectTls(url, { psk: { identity, key: fromHex(keyHex) }, maxVersion, traceHandshake: true }));
