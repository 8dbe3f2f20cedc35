/**
 * `rtcmesh demo`: an embedded signaling server on loopback and N real WebRTC
 * peers (node-datachannel) joining one lobby and forming a full mesh. Each
 * peer broadcasts a small state packet 20 times a second on the unreliable
 * channel and a reliable message once a second; a live table shows every
 * peer's links, RTT and traffic. Runs until Ctrl-C or `--seconds`.
 * @module
 */
import { Mesh, SignalingServer, TransferMode, type LobbyMultiplayerPeer } from '../index.js';

interface Row {
  sent: number;
  received: number;
  bytesIn: number;
}

/** Options of {@link runMeshDemo} (parsed and validated by the CLI). */
export interface MeshDemoOptions {
  peers: number;
  /** 0 = until Ctrl-C. */
  seconds: number;
  port: number;
  json: boolean;
}

/** Run the demo. */
export async function runMeshDemo(options: MeshDemoOptions): Promise<void> {
  const { peers, seconds } = options;
  const values = { port: options.port };
  const out = (line: string) => process.stdout.write(`${line}\n`);

  const server = new SignalingServer({ pingIntervalMs: 0 });
  const { url } = await server.listen({ port: Number(values.port), host: '127.0.0.1' });
  out(`signaling server listening on ${url}`);
  const t0 = performance.now();
  const connection = { bindAddress: '127.0.0.1' };
  const first = await Mesh.join({ signaling: url, connection, mode: 'mesh' });
  out(`lobby "${first.lobby}" created by peer ${first.getUniqueId()}`);
  const meshes: LobbyMultiplayerPeer[] = [first];
  for (let i = 1; i < peers; i++) meshes.push(await Mesh.join({ signaling: url, connection, lobby: first.lobby }));
  const rows = new Map<LobbyMultiplayerPeer, Row>(meshes.map((m) => [m, { sent: 0, received: 0, bytesIn: 0 }]));
  const links = peers * (peers - 1);
  let opened = 0;
  let formed = false;
  for (const m of meshes) {
    m.on('peer_connected', () => {
      opened++;
      if (opened === links) {
        formed = true;
        out(`full mesh formed: ${peers} peers, ${links / 2} links, in ${(performance.now() - t0).toFixed(0)} ms`);
      }
    });
    m.on('peer_disconnected', (id, reason) => out(`peer ${m.getUniqueId()}: peer ${id} disconnected (${reason ?? 'unknown'})`));
  }

  let tick = 0;
  const state = new Uint8Array(48);
  const loop = setInterval(() => {
    tick++;
    for (const m of meshes) {
      m.poll();
      const row = rows.get(m)!;
      let p;
      while ((p = m.getPacket()) !== undefined) {
        row.received++;
        row.bytesIn += p.length;
      }
      if (!formed) continue;
      m.targetPeer = 0;
      m.transferMode = TransferMode.UNRELIABLE;
      m.putPacket(state);
      row.sent++;
      if (tick % 20 === 0) {
        m.transferMode = TransferMode.RELIABLE;
        m.putPacket(new TextEncoder().encode(`tick ${tick} from ${m.getUniqueId()}`));
        row.sent++;
      }
    }
  }, 50);

  let last = performance.now();
  const stats = setInterval(() => {
    const now = performance.now();
    const dt = (now - last) / 1000;
    last = now;
    out(`\n${'peer'.padStart(11)} ${'links'.padStart(5)} ${'rtt ms'.padStart(6)} ${'sent/s'.padStart(7)} ${'recv/s'.padStart(7)} ${'kB in/s'.padStart(8)}`);
    for (const m of meshes) {
      const row = rows.get(m)!;
      const rtts = m.getPeers().map((p) => p.connection.getStats().rttMs).filter((r) => r >= 0);
      const rtt = rtts.length ? (rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(1) : '-';
      out(
        `${String(m.getUniqueId()).padStart(11)} ${String(m.getPeerIds().length).padStart(5)} ${rtt.padStart(6)} ${(row.sent / dt).toFixed(0).padStart(7)} ${(row.received / dt).toFixed(0).padStart(7)} ${(row.bytesIn / 1024 / dt).toFixed(1).padStart(8)}`,
      );
      row.sent = 0;
      row.received = 0;
      row.bytesIn = 0;
    }
  }, 1000);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (seconds > 0) setTimeout(stop, seconds * 1000).unref();
  });
  clearInterval(loop);
  clearInterval(stats);
  for (const m of meshes) m.close();
  await server.close();
  out('\nclosed every peer and the server; exiting');
}
