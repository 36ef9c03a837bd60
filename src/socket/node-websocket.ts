/**
 * The `ws` package's WebSocket, for Node before 22 (which has no global one). The browser
 * bundle uses node-websocket.browser.ts instead (scripts/bundle.mjs): a page has its own.
 */
import type { WebSocketLike } from './transport.js';

export async function nodeWebSocket(): Promise<new (url: string) => WebSocketLike> {
  return ((await import('ws' as string)) as { WebSocket: new (url: string) => WebSocketLike }).WebSocket;
}
