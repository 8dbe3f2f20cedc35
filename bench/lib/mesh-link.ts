/**
 * bench/rpc's link: two mesh-mode WebRTCMultiplayerPeers over one real
 * loopback connection pair (node-datachannel), with a raw node-datachannel
 * channel (negotiated id 900) on the same native connections beside the
 * mesh's channels, so raw and RPC stages share one link.
 */
import ndc from 'node-datachannel';
import { WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../../src/index.js';
import { DatachannelEngine } from '../../src/entries/engine.js';
import type { Engine, EngineConnection, EngineConfig, EngineConnectionHandlers } from '../../src/transport/engine.js';
import { rawChannelLink, type BenchLink } from './links.js';

/** The node-datachannel engine, keeping a handle on each connection it makes. */
class TapEngine implements Engine {
  readonly name = 'node-datachannel';
  private readonly inner = new DatachannelEngine();
  readonly made: EngineConnection[] = [];
  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    const conn = this.inner.createConnection(config, handlers);
    this.made.push(conn);
    return conn;
  }
}

/** The native node-datachannel connection under an engine connection (bench only: reaches a private field). */
function nativeOf(conn: EngineConnection | undefined): ndc.PeerConnection {
  const pc = (conn as unknown as { pc?: ndc.PeerConnection } | undefined)?.pc;
  if (!pc || typeof pc.createDataChannel !== 'function') throw new Error('bench/rpc: cannot reach the node-datachannel connection under the mesh link');
  return pc;
}

/** A raw node-datachannel channel pair (negotiated id 900) on two native connections. */
function rawChannels(a: ndc.PeerConnection, b: ndc.PeerConnection): { link: BenchLink; open: Promise<void> } {
  const da = a.createDataChannel('raw-bench', { negotiated: true, id: 900 });
  const db = b.createDataChannel('raw-bench', { negotiated: true, id: 900 });
  return rawChannelLink('raw node-datachannel, same link', da, db, () => {
    da.close();
    db.close();
  });
}

/**
 * Two mesh-mode multiplayer peers (ids 1, 2) linked over loopback, and a raw
 * node-datachannel channel pair on the same two native connections (also
 * returned, A then B). `session`: whether the meshes run their session header.
 */
export async function meshLink(session: boolean): Promise<[WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, BenchLink, ndc.PeerConnection[]]> {
  const a = new WebRTCMultiplayerPeer({ session });
  const b = new WebRTCMultiplayerPeer({ session });
  a.createMesh(1);
  b.createMesh(2);
  const engine = new TapEngine();
  const ca = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true, engine });
  const cb = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true, engine });
  if (engine.made.length !== 2) throw new Error('bench/rpc: expected one native connection per side');
  const natives = [nativeOf(engine.made[0]), nativeOf(engine.made[1])];
  const raw = rawChannels(natives[0]!, natives[1]!);
  ca.on('session_description_created', (t, s) => (ca.setLocalDescription(t, s), cb.setRemoteDescription(t, s)));
  cb.on('session_description_created', (t, s) => (cb.setLocalDescription(t, s), ca.setRemoteDescription(t, s)));
  ca.on('ice_candidate_created', (m, i, c) => cb.addIceCandidate(m, i, c));
  cb.on('ice_candidate_created', (m, i, c) => ca.addIceCandidate(m, i, c));
  a.addPeer(ca, 2);
  b.addPeer(cb, 1);
  cb.createOffer();
  const t0 = Date.now();
  while (a.getPeerIds().length === 0 || b.getPeerIds().length === 0) {
    if (Date.now() - t0 > 15_000) throw new Error('bench/rpc: link did not open in 15 s');
    a.poll();
    b.poll();
    await new Promise((r) => setTimeout(r, 2));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([raw.open, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('bench/rpc: raw channel did not open in 15 s')), 15_000)))]);
  clearTimeout(timer);
  return [a, b, raw.link, natives];
}
