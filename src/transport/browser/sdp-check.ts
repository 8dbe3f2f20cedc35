/**
 * A synchronous look at a remote session description, so the asynchronous
 * browser engine can refuse obvious garbage from the call that received it.
 * It checks what every data-channel description must have; the browser's own
 * parser decides the rest (and the engine reports its verdict later).
 * @module
 */

const REQUIRED: readonly [RegExp, string][] = [
  [/^v=0\r?$/m, 'no "v=0" line'],
  [/^m=application \d+ [A-Z/]*(?:DTLS\/SCTP|UDP\/DTLS\/SCTP|TCP\/DTLS\/SCTP)/m, 'no data channel m-section ("m=application … DTLS/SCTP")'],
  [/^a=ice-ufrag:\S+/m, 'no ICE user fragment ("a=ice-ufrag")'],
  [/^a=ice-pwd:\S+/m, 'no ICE password ("a=ice-pwd")'],
  [/^a=fingerprint:\S+ [0-9A-Fa-f:]+/m, 'no DTLS fingerprint ("a=fingerprint")'],
];

/** Throw an Error naming the first thing a data-channel SDP lacks. */
export function checkRemoteSdp(sdp: string): void {
  for (const [pattern, problem] of REQUIRED) {
    if (!pattern.test(sdp)) throw new Error(`remote description has ${problem}`);
  }
}
