// A handshake as a ladder diagram: client and server columns, one arrow per message (name,
// size, time since the start), HelloRetryRequest and alerts in place, the negotiated session
// above, and for a failed handshake where it stopped and the typed error. It draws what a
// socket records with { traceHandshake: true }: `info.handshake` once open, `error.handshake`
// if the handshake fails (names, sizes and times only: a worker's socket gives the same).

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 26;
const WIDTH = 560;
const LEFT = 90;
const RIGHT = WIDTH - 90;

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The session in one line: protocol, suite, group, identity, early data. */
export function sessionLine(info, identity) {
  const parts = [info.protocol, info.cipher, info.keyExchangeGroup ? `group ${info.keyExchangeGroup}` : 'no (EC)DHE (psk_ke or plain PSK)'];
  if (identity) parts.push(`PSK identity "${identity}"`);
  parts.push(info.protocol === 'TLSv1.3' ? `PSK ${info.sessionReused ? 'accepted' : 'not used'}` : 'PSK suite');
  parts.push(`early data ${info.earlyDataAccepted ? 'accepted' : 'not accepted'}`);
  return parts.join(' · ');
}

/**
 * Replaces `container`'s content with the ladder of one connection. `role` is this side's
 * ('client' for connectTls, 'server' for acceptTls); `steps` from info.handshake or
 * error.handshake; `info` when it opened, `error` when it failed.
 */
export function drawLadder(container, { role = 'client', steps = [], info = null, error = null, identity = null, title = '' }) {
  container.replaceChildren();
  container.classList.add('ladder');
  const caption = document.createElement('div');
  caption.className = 'ladder-caption';
  caption.textContent = `${title ? `${title}: ` : ''}${info ? sessionLine(info, identity) : 'handshake failed'}`;
  container.append(caption);

  const rows = steps.length + (error ? 1 : 0);
  const svg = el('svg', { width: WIDTH, height: 40 + rows * ROW + 10, viewBox: `0 0 ${WIDTH} ${40 + rows * ROW + 10}`, role: 'img' });
  svg.append(
    el('text', { x: LEFT, y: 18, 'text-anchor': 'middle', class: 'ladder-side' }, role === 'client' ? 'client (this page)' : 'client'),
    el('text', { x: RIGHT, y: 18, 'text-anchor': 'middle', class: 'ladder-side' }, role === 'server' ? 'server (this page)' : 'server'),
    el('line', { x1: LEFT, y1: 26, x2: LEFT, y2: 40 + rows * ROW, stroke: '#888' }),
    el('line', { x1: RIGHT, y1: 26, x2: RIGHT, y2: 40 + rows * ROW, stroke: '#888' }),
  );
  steps.forEach((step, i) => {
    const y = 44 + i * ROW;
    // Client to server is left to right: what this side sent goes away from its column.
    const rightwards = (step.direction === 'sent') === (role === 'client');
    const [x1, x2] = rightwards ? [LEFT, RIGHT] : [RIGHT, LEFT];
    const kind = step.kind === 'alert' ? 'alert' : step.name === 'HelloRetryRequest' ? 'hrr' : step.kind;
    const g = el('g', {
      class: `ladder-step ladder-${kind}`,
      'data-name': step.name,
      'data-direction': rightwards ? 'to-server' : 'to-client',
      'data-kind': step.kind,
    });
    g.append(
      el('line', { x1, y1: y, x2: x2 + (rightwards ? -6 : 6), y2: y, stroke: 'currentColor', 'stroke-width': 1.5 }),
      el('path', { d: rightwards ? `M${x2},${y} l-8,-4 v8 z` : `M${x2},${y} l8,-4 v8 z`, fill: 'currentColor' }),
      el('text', { x: (LEFT + RIGHT) / 2, y: y - 5, 'text-anchor': 'middle' }, step.kind === 'alert' ? `Alert: ${step.name} (${step.level})` : step.name),
      el('text', { x: 8, y: y + 4, class: 'ladder-meta' }, `${step.timeMs.toFixed(1)} ms`),
      el('text', { x: WIDTH - 8, y: y + 4, 'text-anchor': 'end', class: 'ladder-meta' }, `${step.size} B`),
    );
    svg.append(g);
  });
  if (error) {
    const y = 44 + steps.length * ROW;
    svg.append(
      el(
        'text',
        { x: (LEFT + RIGHT) / 2, y, 'text-anchor': 'middle', class: 'ladder-stop', 'data-code': error.code ?? '' },
        `✕ stopped here: ${error.code ?? error.name}`,
      ),
    );
    const message = document.createElement('div');
    message.className = 'ladder-error error';
    message.textContent = `${error.code ?? error.name}: ${error.message}`;
    container.append(svg, message);
    return;
  }
  container.append(svg);
}

/** Draws `socket`'s handshake into `container` once it opens or fails; returns the socket. */
export function drawWhenOpened(container, socket, { identity, title } = {}) {
  socket.opened.then(
    (info) => drawLadder(container, { steps: info.handshake ?? [], info, identity, title }),
    (error) => drawLadder(container, { steps: error.handshake ?? [], error, identity, title }),
  );
  return socket;
}
