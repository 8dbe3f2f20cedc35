/**
 * Helpers for the Godot conformance tests: connections used the way a Godot
 * porter uses them — events delivered by `poll()` (no autoPoll), descriptions
 * and candidates relayed by hand, on loopback.
 */
import { ChannelState, RtcmeshError, WebRTCPeerConnection, type WebRTCDataChannel } from '../api.js';
import { pollUntil } from '../mesh/mesh-helpers.js';
import { LOOPBACK } from '../helpers.js';

/** A Godot-style connection: events only in `poll()`, bound to 127.0.0.1. */
export function polled(): WebRTCPeerConnection {
  return new WebRTCPeerConnection(LOOPBACK);
}

/**
 * Relay as Godot's signaling demo does: a description goes to
 * `set_local_description` here and `set_remote_description` there; a
 * candidate goes to the other side's `add_ice_candidate`.
 */
export function relay(a: WebRTCPeerConnection, b: WebRTCPeerConnection): void {
  for (const [self, other] of [[a, b], [b, a]] as const) {
    self.on('session_description_created', (type, sdp) => {
      self.setLocalDescription(type, sdp);
      other.setRemoteDescription(type, sdp);
    });
    self.on('ice_candidate_created', (media, index, name) => other.addIceCandidate(media, index, name));
  }
}

export { pollUntil };

/** One negotiated channel (`label`, stream `id`) on each side, an offer from `a`, polled until both are open. */
export async function openChannelPair(a: WebRTCPeerConnection, b: WebRTCPeerConnection, label: string, id: number): Promise<[WebRTCDataChannel, WebRTCDataChannel]> {
  const ca = a.createDataChannel(label, { negotiated: true, id });
  const cb = b.createDataChannel(label, { negotiated: true, id });
  a.createOffer();
  await pollUntil([a, b], () => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, `channel ${label} to open`);
  return [ca, cb];
}

/** Run `fn` and return the RtcmeshError code it throws (undefined if it does not throw; a description of any other error). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RtcmeshError ? err.code : `not an RtcmeshError: ${String(err)}`;
  }
  return undefined;
}
