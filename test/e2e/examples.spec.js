// The examples that run in browsers, as a user would run them: examples/relay (two pages, one
// PSK TLS session through a dumb relay that sees only ciphertext).
import { expect, test } from '@playwright/test';
import { startRelayDemo } from '../../examples/relay/relay.mjs';

test('examples/relay: two pages, acceptTls in one, connectTls in the other; the relay sees no plaintext', async ({ browser }) => {
  const forwarded = [];
  const demo = await startRelayDemo({ onForward: (bytes) => forwarded.push(bytes) });
  const serverPage = await browser.newPage();
  const clientPage = await browser.newPage();
  try {
    const auto = (url) => url.replace('?', '?auto=1&');
    await serverPage.goto(auto(demo.serverPage));
    await clientPage.goto(auto(demo.clientPage));
    const result = async (page) => {
      await page.waitForSelector('#result[data-done]', { state: 'attached', timeout: 30000 });
      return JSON.parse(await page.textContent('#result'));
    };
    const client = await result(clientPage);
    const server = await result(serverPage);
    expect(client).toMatchObject({ ok: true, received: 'pong for "ping from the client page"' });
    expect(client.info.protocol).toBe('TLSv1.3');
    expect(server.ok).toBe(true);
    expect(server.log).toContain('< ping from the client page');
    const seen = Buffer.concat(forwarded);
    expect(seen.length).toBeGreaterThan(200);
    expect(seen.includes(Buffer.from('ping from'))).toBe(false);
    expect(seen.includes(Buffer.from('pong'))).toBe(false);
  } finally {
    await serverPage.close();
    await clientPage.close();
    await demo.close();
  }
});
