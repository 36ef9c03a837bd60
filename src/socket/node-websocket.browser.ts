/** node-websocket.ts for browsers, never reached: every browser and worker has a WebSocket. */
import type { WebSocketLike } from './transport.js';

export function nodeWebSocket(): Promise<new (url: string) => WebSocketLike> {
  return Promise.reject(new Error('this engine has no WebSocket'));
}
