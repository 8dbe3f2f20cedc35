/**
 * A mesh with one member in a child process (fixtures/member.ts), signaled by
 * hand over IPC: for the kill -9 test and bench/maintain.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebRTCMultiplayerPeer, WebRTCPeerConnection, type MultiplayerPeerOptions } from '../api.js';

/** A signaling message between the parent and the child. */
export type IpcSignal =
  | { from: number; to: number; kind: 'description'; type: 'offer' | 'answer'; sdp: string }
  | { from: number; to: number; kind: 'candidate'; mid: string; index: number; candidate: string };

const MEMBER = fileURLToPath(new URL('./fixtures/member.ts', import.meta.url));

/** Start the child member `childId` and link every in-process mesh to it. Resolves when the child reports every link open. */
export function spawnMember(meshes: WebRTCMultiplayerPeer[], childId: number, options: MultiplayerPeerOptions, timeoutMs = 20_000): Promise<ChildProcess> {
  const peers = meshes.map((m) => m.getUniqueId());
  const child = fork(MEMBER, [JSON.stringify({ id: childId, peers, options })], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const conns = new Map<number, WebRTCPeerConnection>();
  for (const m of meshes) {
    const id = m.getUniqueId();
    const c = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true });
    m.addPeer(c, childId);
    const send = (s: IpcSignal) => {
      if (child.connected) child.send(s);
    };
    c.on('session_description_created', (type, sdp) => send({ from: id, to: childId, kind: 'description', type, sdp }));
    c.on('ice_candidate_created', (mid, index, candidate) => send({ from: id, to: childId, kind: 'candidate', mid, index, candidate }));
    conns.set(id, c);
    if (id > childId) c.createOffer();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child member ${childId} did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child member exited early (${code ?? signal})`));
    });
    child.on('message', (m: IpcSignal | { ready: true }) => {
      if ('ready' in m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
        return;
      }
      const c = conns.get(m.to);
      if (!c) return;
      if (m.kind === 'description') c.setRemoteDescription(m.type, m.sdp);
      else c.addIceCandidate(m.mid, m.index, m.candidate);
    });
  });
}

/** SIGKILL the child and resolve once it is gone. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
