// One end of a PSK TLS session between two pages: ?role=server runs acceptTls(), ?role=client
// connectTls(), both over a WebSocket to the relay; the PSK is in the URL fragment. Each line
// one page sends appears in the other's log. With ?auto=1 the client sends one line, the
// server answers it, and each page writes the outcome into #result (the tests read it).
import { acceptTls, connectTls } from '/lib/openssl-psk-wasm.js';
import { drawWhenOpened } from '/ladder.js';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const role = query.get('role') === 'server' ? 'server' : 'client';
const auto = query.has('auto');
const psk = { identity: fragment.get('identity') ?? '', key: Uint8Array.from(fragment.get('key')?.match(/../g) ?? [], (b) => parseInt(b, 16)) };
$('role').textContent = role;

const status = (text, isError = false) => Object.assign($('status'), { textContent: text, className: isError ? 'error' : '' });
const log = (line) => ($('log').textContent += `${line}\n`);
const finish = (result) => Object.assign($('result'), { textContent: JSON.stringify(result) }).setAttribute('data-done', '');

const open = role === 'server' ? acceptTls : connectTls;
const socket = open(query.get('relay'), { psk, handshakeTimeoutMs: 600000, traceHandshake: true });
drawWhenOpened($('ladder'), socket, { role, identity: psk.identity ?? null, title: 'this session' });
status(role === 'server' ? 'Waiting for the other browser…' : 'Connecting…');

try {
  const info = await socket.opened;
  status(`Connected: ${info.protocol}, ${info.cipher}.`);
  const writer = socket.writable.getWriter();
  const send = async (text) => {
    await writer.write(new TextEncoder().encode(`${text}\n`));
    log(`> ${text}`);
  };
  $('message').disabled = $('sendButton').disabled = false;
  $('send').addEventListener('submit', (event) => {
    event.preventDefault();
    send($('message').value).catch((error) => status(`${error.code}: ${error.message}`, true));
  });

  if (auto && role === 'client') await send('ping from the client page');
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of socket) {
    // the socket itself: Safari cannot iterate a ReadableStream
    pending += decoder.decode(chunk, { stream: true });
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      log(`< ${line}`);
      if (!auto) continue;
      if (role === 'server') await send(`pong for "${line}"`);
      else {
        finish({ ok: true, info, received: line });
        await socket.close();
      }
    }
  }
  status('The other browser closed the connection.');
  if (auto && role === 'server') finish({ ok: true, info, log: $('log').textContent });
} catch (error) {
  status(`${error.code ?? 'Error'}: ${error.message}`, true);
  finish({ ok: false, error: `${error.code}: ${error.message}` });
}
