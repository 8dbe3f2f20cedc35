/**
 * One data-channel link on loopback, built two ways behind one shape: raw
 * node-datachannel (the reference) and rtcmesh's peer layer. Benchmarks run
 * the same workload over both, side by side in one process.
 */
import ndc from 'node-datachannel';
import { WebRTCPeerConnection } from '../../src/index.js';

/** What a workload needs from a link's two ends. */
export interface BenchLink {
  name: string;
  /** Send from A to B (or B to A). */
  sendA(data: Uint8Array): void;
  sendB(data: Uint8Array): void;
  onMessageA(cb: (data: Uint8Array) => void): void;
  onMessageB(cb: (data: Uint8Array) => void): void;
  bufferedA(): number;
  /** Resolve when A's buffered amount falls to `low`. */
  drainedA(low: number): Promise<void>;
  close(): void;
}

const CONFIG = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true };

/**
 * Apply a remote candidate without ever throwing inside a native callback
 * (that aborts the process): libdatachannel refuses a candidate that arrives
 * before its ICE transport exists, so retry on the next turn a few times.
 */
function addCandidate(pc: ndc.PeerConnection, candidate: string, mid: string, tries = 50): void {
  try {
    pc.addRemoteCandidate(candidate, mid);
  } catch {
    if (tries > 0) setImmediate(() => addCandidate(pc, candidate, mid, tries - 1));
  }
}

/**
 * A {@link BenchLink} over a raw node-datachannel channel pair (A = `da`,
 * B = `db`); `close` is what closing the link does. `open` resolves once
 * both channels are open.
 */
export function rawChannelLink(name: string, da: ndc.DataChannel, db: ndc.DataChannel, close: () => void): { link: BenchLink; open: Promise<void> } {
  let cbA: (d: Uint8Array) => void = () => {};
  let cbB: (d: Uint8Array) => void = () => {};
  da.onMessage((m) => cbA(m as Buffer));
  db.onMessage((m) => cbB(m as Buffer));
  // The binding frees a channel's callbacks only on its own closed event: listen, or the process never exits.
  da.onClosed(() => {});
  db.onClosed(() => {});
  let lowWaiter: (() => void) | undefined;
  da.onBufferedAmountLow(() => {
    const w = lowWaiter;
    lowWaiter = undefined;
    w?.();
  });
  const open = Promise.all([da, db].map((d) => (d.isOpen() ? Promise.resolve() : new Promise<void>((res) => d.onOpen(() => res()))))).then(() => {});
  const link: BenchLink = {
    name,
    sendA: (d) => void da.sendMessageBinary(d),
    sendB: (d) => void db.sendMessageBinary(d),
    onMessageA: (cb) => (cbA = cb),
    onMessageB: (cb) => (cbB = cb),
    bufferedA: () => da.bufferedAmount(),
    drainedA: (low) =>
      new Promise((res) => {
        da.setBufferedAmountLowThreshold(low);
        if (da.bufferedAmount() <= low) return res();
        lowWaiter = res;
      }),
    close,
  };
  return { link, open };
}

/** Raw node-datachannel link, negotiated channel id 0. Resolves when open. */
export function rawLink(): Promise<BenchLink> {
  const a = new ndc.PeerConnection('raw-a', CONFIG);
  const b = new ndc.PeerConnection('raw-b', CONFIG);
  let bHasRemote = false;
  let aHasRemote = false;
  const early: [string, string][] = [];
  const earlyB: [string, string][] = [];
  a.onStateChange(() => {});
  b.onStateChange(() => {});
  a.onLocalDescription((sdp, type) => {
    b.setRemoteDescription(sdp, type);
    bHasRemote = true;
    b.setLocalDescription('answer');
    for (const [c, m] of early) addCandidate(b, c, m);
  });
  b.onLocalDescription((sdp, type) => {
    a.setRemoteDescription(sdp, type);
    aHasRemote = true;
    for (const [c, m] of earlyB) addCandidate(a, c, m);
  });
  a.onLocalCandidate((c, m) => (bHasRemote ? addCandidate(b, c, m) : early.push([c, m])));
  b.onLocalCandidate((c, m) => (aHasRemote ? addCandidate(a, c, m) : earlyB.push([c, m])));
  const raw = rawChannelLink(
    'raw node-datachannel',
    a.createDataChannel('bench', { negotiated: true, id: 0 }),
    b.createDataChannel('bench', { negotiated: true, id: 0 }),
    () => {
      a.close();
      b.close();
    },
  );
  a.setLocalDescription('offer');
  return raw.open.then(() => raw.link);
}

/** The same link through rtcmesh's WebRTCPeerConnection (autoPoll, packet events). */
export function rtcmeshLink(): Promise<BenchLink> {
  return new Promise((resolve) => {
    const cfg = { bindAddress: '127.0.0.1' };
    const a = new WebRTCPeerConnection(cfg, { autoPoll: true });
    const b = new WebRTCPeerConnection(cfg, { autoPoll: true });
    a.on('session_description_created', (t, s) => b.setRemoteDescription(t, s));
    b.on('session_description_created', (t, s) => a.setRemoteDescription(t, s));
    a.on('ice_candidate_created', (m, i, c) => b.addIceCandidate(m, i, c));
    b.on('ice_candidate_created', (m, i, c) => a.addIceCandidate(m, i, c));
    const da = a.createDataChannel('bench', { negotiated: true, id: 0 });
    const db = b.createDataChannel('bench', { negotiated: true, id: 0 });
    let opened = 0;
    const link: BenchLink = {
      name: 'rtcmesh peer layer',
      sendA: (d) => da.putPacket(d),
      sendB: (d) => db.putPacket(d),
      onMessageA: (cb) => {
        da.removeAllListeners('packet');
        da.on('packet', cb);
      },
      onMessageB: (cb) => {
        db.removeAllListeners('packet');
        db.on('packet', cb);
      },
      bufferedA: () => da.getBufferedAmount(),
      drainedA: (low) =>
        new Promise((res) => {
          da.setBufferedAmountLowThreshold(low);
          if (da.getBufferedAmount() <= low) return res();
          da.once('buffered_amount_low', () => res());
        }),
      close: () => {
        a.close();
        b.close();
      },
    };
    const onOpen = () => {
      if (++opened === 2) resolve(link);
    };
    da.once('open', onOpen);
    db.once('open', onOpen);
    a.createOffer();
  });
}

/**
 * Stream `total` bytes in `size`-byte messages A→B with buffered-amount flow
 * control (high water 1 MiB, or 4 MiB for messages of 4 kB and more; refill
 * at a quarter of it). Resolves with the seconds until B has every byte.
 */
export async function stream(link: BenchLink, size: number, total: number): Promise<number> {
  const msg = new Uint8Array(size);
  const high = size >= 4096 ? 4 * 1024 * 1024 : 1024 * 1024;
  let received = 0;
  const done = new Promise<void>((resolve) =>
    link.onMessageB((d) => {
      received += d.length;
      if (received >= total) resolve();
    }),
  );
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    while (sent < total && link.bufferedA() < high) {
      link.sendA(msg);
      sent += size;
    }
    if (sent < total) await link.drainedA(high / 4);
  }
  await done;
  return (performance.now() - t0) / 1000;
}
