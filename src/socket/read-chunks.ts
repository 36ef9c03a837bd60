/**
 * Async iteration of a socket's plaintext with a reader: `for await (… of readableStream)` is
 * missing in WebKit (Safari), so the sockets iterate themselves (`for await (… of socket)`).
 */
export async function* readChunks(readable: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
