// The example pages' shared user interface: a form to connect, a line to send, the echo.
// Each page passes its own open(): the engine in the page (app.js) or in a worker (../worker/).
// With ?auto=1 a page runs one scripted session from /config.json and writes the outcome into
// #result (the demo's headless run reads it).
import { drawLadder } from './ladder.js';

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * open({ url, identity, keyHex, maxVersion }) resolves with a socket of connectTls()'s shape,
 * opened with { traceHandshake: true } for the ladder diagram (#ladder).
 */
export async function runPage(open) {
  let socket = null;
  let writer = null;

  const show = (text, isError = false) => {
    $('status').textContent = text;
    $('status').className = isError ? 'error' : '';
  };
  const showError = (error) => show(`${error.code ?? 'Error'}: ${error.message}`, true);

  async function connect(settings) {
    socket = await open(settings);
    let info;
    try {
      info = await socket.opened;
    } catch (error) {
      drawLadder($('ladder'), { steps: error.handshake ?? [], error, identity: settings.identity });
      throw error;
    }
    drawLadder($('ladder'), { steps: info.handshake ?? [], info, identity: settings.identity });
    show(`Connected: ${info.protocol}, ${info.cipher}, PSK ${info.protocol === 'TLSv1.3' ? (info.sessionReused ? 'used' : 'not used') : 'suite'}.`);
    writer = socket.writable.getWriter();
    for (const id of ['message', 'sendButton', 'closeButton']) $(id).disabled = false;
    $('connectButton').disabled = true;
    readLoop(socket.readable.getReader());
    return info;
  }

  async function readLoop(reader) {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        $('log').textContent += decoder.decode(value, { stream: true });
      }
      show('The server closed the connection.');
    } catch (error) {
      showError(error);
    }
  }

  const send = (text) => writer.write(encoder.encode(`${text}\n`));

  $('connect').addEventListener('submit', async (event) => {
    event.preventDefault();
    show('Connecting…');
    try {
      await connect({ url: $('url').value, identity: $('identity').value, keyHex: $('key').value, maxVersion: $('version').value });
    } catch (error) {
      showError(error);
    }
  });
  $('send').addEventListener('submit', async (event) => {
    event.preventDefault();
    await send($('message').value).catch(showError);
  });
  $('closeButton').addEventListener('click', async () => {
    await socket?.close().catch(() => {});
    show('Closed.');
  });

  // Prefill from the demo's configuration, if there is one.
  const config = await fetch('/config.json')
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  if (config) {
    $('url').value = config.url;
    $('identity').value = config.identity;
    $('key').value = config.keyHex;
  }

  if (config && new URLSearchParams(location.search).has('auto')) {
    const result = { ok: false };
    try {
      result.info = await connect({ ...config, maxVersion: 'TLSv1.3' });
      const line = `hello from ${browserName()}${location.pathname.includes('worker') ? ' (worker)' : ''}`;
      await send(line);
      const deadline = Date.now() + 10000;
      while (!$('log').textContent.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      result.echo = $('log').textContent.trim();
      result.ok = result.echo === line;
      await socket.close();
    } catch (error) {
      result.error = `${error.code}: ${error.message}`;
    }
    $('result').textContent = JSON.stringify(result);
    $('result').dataset.done = 'true';
  }
}

/** The browser, from its user agent: a name for the scripted session's line. */
function browserName() {
  const ua = navigator.userAgent;
  if (/Firefox\//.test(ua)) return 'Firefox';
  if (/Chrom(e|ium)\//.test(ua)) return 'Chromium';
  if (/AppleWebKit\//.test(ua)) return 'WebKit';
  return 'a browser';
}

export const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Appends a line of text (red if `error`) to `container`. */
export function appendLine(container, text, error = false) {
  const line = document.createElement('div');
  line.textContent = text;
  if (error) line.className = 'error';
  container.append(line);
}
