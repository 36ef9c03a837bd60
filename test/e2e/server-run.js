// The serving side of a relay session, the same in a page and in Node: acceptTls() over a
// WebSocket, echo everything back until the peer closes. Returns how many bytes it echoed.
export async function runEchoServer(lib, { socket: ws, psk }) {
  const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
  const tls = lib.acceptTls(ws, { psk: { identity: psk.identity, key: fromHex(psk.keyHex) } });
  await tls.opened;
  const reader = tls.readable.getReader();
  const writer = tls.writable.getWriter();
  let echoed = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    await writer.write(value);
    echoed += value.length;
  }
  await tls.close();
  return echoed;
}
