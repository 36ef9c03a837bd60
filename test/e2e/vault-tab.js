// The second tab of vault-run.js twoTabs(): the same vault, listed and used from another window.
const { createTlsWorker } = await import('/lib/worker.js');
const params = new URLSearchParams(location.search);
const vault = params.get('vault');
const url = params.get('url');
const identity = params.get('identity');
try {
  const worker = await createTlsWorker({ vault });
  const listed = await worker.listPsks();
  const socket = worker.connect(url, { identity });
  await socket.opened;
  const writer = socket.writable.getWriter();
  await writer.write(new TextEncoder().encode('tab two\n'));
  const { value } = await socket.readable.getReader().read();
  await socket.close();
  worker.terminate();
  window.vaultResult = { value: { listed, echoed: new TextDecoder().decode(value) } };
} catch (error) {
  window.vaultResult = { error: { code: error?.code ?? null, message: String(error?.message ?? error) } };
}
