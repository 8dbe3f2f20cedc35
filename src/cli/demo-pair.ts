/**
 * `rtcmesh demo-pair`: two real WebRTC peers in this process on loopback,
 * printing their states, the RTT and a transfer summary.
 * @module
 */
import { ConnectionState, WebRTCPeerConnection, type WebRTCDataChannel } from '../index.js';
import { enumName } from '../peer/enums.js';

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 1);
  });
}

/** Run the two-peer demo; resolves when both connections are closed. */
export async function runPairDemo(totalBytes = 32 * 1024 * 1024): Promise<void> {
  const config = { bindAddress: '127.0.0.1' };
  const a = new WebRTCPeerConnection(config, { autoPoll: true });
  const b = new WebRTCPeerConnection(config, { autoPoll: true });
  for (const [name, pc] of [['A', a], ['B', b]] as const) {
    pc.on('connection_state_changed', (s) => log(`[${name}] connection ${enumName(ConnectionState, s)}`));
    pc.on('session_description_created', (type, sdp) => {
      pc.setLocalDescription(type, sdp);
      (pc === a ? b : a).setRemoteDescription(type, sdp);
    });
    pc.on('ice_candidate_created', (mid, index, c) => (pc === a ? b : a).addIceCandidate(mid, index, c));
  }
  const sendA = a.createDataChannel('bulk', { negotiated: true, id: 1 });
  const recvB = b.createDataChannel('bulk', { negotiated: true, id: 1 });
  const pingA = a.createDataChannel('ping', { negotiated: true, id: 2 });
  const pingB = b.createDataChannel('ping', { negotiated: true, id: 2 });
  const t0 = performance.now();
  a.createOffer();
  await until(() => [sendA, recvB, pingA, pingB].every((c) => c.getReadyState() === 1), 'channels to open');
  log(`channels open after ${(performance.now() - t0).toFixed(1)} ms`);

  // RTT over the data channel: 200 pings.
  const rtts: number[] = [];
  pingB.on('packet', (data) => pingB.putPacket(data));
  for (let i = 0; i < 200; i++) {
    const sent = performance.now();
    const got = new Promise<void>((resolve) => pingA.once('packet', () => resolve()));
    pingA.putPacket(new Uint8Array(64));
    await got;
    rtts.push((performance.now() - sent) * 1000);
  }
  rtts.sort((x, y) => x - y);
  log(`ping RTT p50 ${rtts[100]!.toFixed(0)} µs, p99 ${rtts[197]!.toFixed(0)} µs (64 B, 200 pings)`);

  const chunk = new Uint8Array(16 * 1024);
  let received = 0;
  recvB.on('packet', (data) => {
    received += data.length;
  });
  const start = performance.now();
  await pump(sendA, chunk, totalBytes);
  await until(() => received >= totalBytes, 'all bytes to arrive', 60_000);
  const seconds = (performance.now() - start) / 1000;
  log(`transferred ${(totalBytes / 1048576).toFixed(0)} MiB in ${seconds.toFixed(2)} s: ${(totalBytes / 1e6 / seconds).toFixed(1)} MB/s`);
  const stats = a.getStats();
  const pair = stats.selectedCandidatePair;
  log(`A stats: rtt ${stats.rttMs} ms, sent ${stats.bytesSent} B, received ${stats.bytesReceived} B` +
    (pair ? `, path ${pair.local.type} ${pair.local.address}:${pair.local.port} -> ${pair.remote.type} ${pair.remote.address}:${pair.remote.port} (${pair.local.transport})` : ''));
  a.close();
  await until(() => b.getConnectionState() === ConnectionState.CLOSED, 'B to see the close');
  b.close();
  log('closed; exiting');
}

async function pump(ch: WebRTCDataChannel, chunk: Uint8Array, total: number): Promise<void> {
  const high = 4 * 1024 * 1024;
  ch.setBufferedAmountLowThreshold(1024 * 1024);
  let sent = 0;
  while (sent < total) {
    while (sent < total && ch.getBufferedAmount() < high) {
      ch.putPacket(chunk);
      sent += chunk.length;
    }
    if (sent < total) await new Promise<void>((resolve) => ch.once('buffered_amount_low', () => resolve()));
  }
}
