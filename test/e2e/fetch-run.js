// pskFetch in a page: the same requests with the engine in the page and through the TLS worker.
// Plain JavaScript and web APIs only; JSON-serialisable results.

/** A few requests of each kind against the device API of test/helpers/device-api.js. */
export async function runFetch(createPskFetch, connect, base) {
  const pskFetch = createPskFetch({ connect });
  const out = {};
  try {
    const systems = await pskFetch(`${base}/redfish/v1/Systems`);
    out.systems = { status: systems.status, type: systems.headers.get('content-type'), count: (await systems.json())['Members@odata.count'] };

    const posted = await pskFetch(`${base}/echo`, { method: 'POST', body: new Blob(['from the page']), headers: { 'content-type': 'text/plain' } });
    const echo = await posted.json();
    out.post = { method: echo.method, body: atob(echo.body), length: posted.headers.get('x-request-length') };

    const parts = ['streamed ', 'request ', 'body'].map((s) => new TextEncoder().encode(s));
    const stream = new ReadableStream({ pull: (c) => (parts.length ? c.enqueue(parts.shift()) : c.close()) });
    const streamed = await pskFetch(`${base}/echo`, { method: 'PUT', body: stream, duplex: 'half' });
    const streamedEcho = await streamed.json();
    out.streamed = { body: atob(streamedEcho.body), te: streamed.headers.get('x-request-te') };

    const big = new Uint8Array(await (await pskFetch(`${base}/chunked?bytes=1048576`)).arrayBuffer());
    out.chunked = { length: big.length, intact: big.every((b, i) => b === (i & 0xff)) };

    const moved = await pskFetch(`${base}/redirect?status=303&to=/redfish/v1`);
    out.redirect = { status: moved.status, redirected: moved.redirected, url: moved.url, name: (await moved.json()).Name };

    out.offOrigin = await pskFetch(`${base}/redirect?to=https://127.0.0.2:1/`).then(
      () => 'followed',
      (e) => e.code,
    );
    // Last: an aborted request's connection cannot carry another.
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    out.abort = await pskFetch(`${base}/never`, { signal: controller.signal }).then(
      () => 'answered',
      (e) => e.name,
    );
  } catch (error) {
    out.error = { code: error?.code ?? null, message: String(error?.message ?? error) };
  } finally {
    pskFetch.close();
  }
  return out;
}
