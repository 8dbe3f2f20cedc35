/**
 * Claims of docs/browser.md that hold without a browser: the package's export
 * conditions, what the one-file bundle's entry exports, and what the browser
 * engine does before the browser sees anything (run over a recording
 * stand-in for RTCPeerConnection; test/system/chromium.test.ts runs the real
 * one). Each `it()` quotes the claim it checks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConnectionState, ErrorCode, WebRTCPeerConnection } from '../api.js';
// rtcmesh/browser's engine (the Node entry does not export it)
import { BrowserEngine } from '../../src/transport/browser/browser-engine.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** A stand-in RTCPeerConnection that records its configuration and every call. */
class RecordingPeerConnection {
  static made: RecordingPeerConnection[] = [];
  readonly calls: string[] = [];
  onicecandidate = null;
  onconnectionstatechange = null;
  onicegatheringstatechange = null;
  onsignalingstatechange = null;
  ondatachannel = null;
  connectionState = 'new';
  iceGatheringState = 'new';
  signalingState = 'stable';
  localDescription = null;
  sctp = null;
  constructor(readonly config: RTCConfiguration) {
    RecordingPeerConnection.made.push(this);
  }
  setRemoteDescription(): Promise<void> {
    this.calls.push('setRemoteDescription');
    return new Promise(() => {});
  }
  addIceCandidate(): Promise<void> {
    this.calls.push('addIceCandidate');
    return new Promise(() => {});
  }
  createOffer(): Promise<never> {
    this.calls.push('createOffer');
    return new Promise(() => {});
  }
  getStats(): Promise<Map<string, unknown>> {
    return Promise.resolve(new Map());
  }
  close(): void {
    this.calls.push('close');
  }
}

describe('docs/browser.md', () => {
  it('"the package\'s browser export condition maps rtcmesh to dist/browser.js"; "You can also import rtcmesh/browser explicitly"', () => {
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['.']!.browser).toBe('./dist/browser.js');
    expect(pkg.exports['./browser']!.default).toBe('./dist/browser.js');
  });

  it('"Besides the rtcmesh/browser API it [dist/rtcmesh.browser.js] exports the signaling clients (WebSocketSignalingClient, MemorySignalingBus)"', () => {
    const bundleScript = readFileSync(root('scripts/bundle-browser.mjs'), 'utf8');
    expect(bundleScript).toMatch(/entryPoints: \[join\(root, 'src', 'entries', 'browser-bundle\.ts'\)\]/);
    const entry = readFileSync(root('src/entries/browser-bundle.ts'), 'utf8');
    expect(entry).toMatch(/export \* from '\.\.\/browser\.js'/);
    expect(entry).toMatch(/export \* from '\.\.\/signaling\/index\.js'/);
    const signaling = readFileSync(root('src/signaling/index.ts'), 'utf8');
    expect(signaling).toMatch(/WebSocketSignalingClient/);
    expect(signaling).toMatch(/MemorySignalingBus/);
  });

  it('"config the browser cannot apply: bindAddress, portRange, enableIceTcp, enableIceUdpMux, mtu, maxMessageSize are ignored"; iceServers and iceTransportPolicy reach the browser', () => {
    RecordingPeerConnection.made.length = 0;
    const engine = new BrowserEngine({ RTCPeerConnection: RecordingPeerConnection as unknown as new (c?: RTCConfiguration) => RTCPeerConnection });
    const pc = new WebRTCPeerConnection(
      {
        iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'c' }],
        iceTransportPolicy: 'relay',
        bindAddress: '127.0.0.1',
        portRange: { min: 50000, max: 50010 },
        enableIceTcp: true,
        enableIceUdpMux: true,
        mtu: 1200,
        maxMessageSize: 65536,
      },
      { engine },
    );
    try {
      expect(RecordingPeerConnection.made).toHaveLength(1);
      expect(RecordingPeerConnection.made[0]!.config).toEqual({
        iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'c' }],
        iceTransportPolicy: 'relay',
      });
      expect(pc.getConnectionState()).toBe(ConnectionState.NEW);
    } finally {
      pc.close();
    }
  });

  it('"setRemoteDescription returns false and emits error (INVALID_SDP) at once when the SDP lacks an application m-section, ICE ufrag/pwd or a DTLS fingerprint … The connection stays as it was"', () => {
    RecordingPeerConnection.made.length = 0;
    const engine = new BrowserEngine({ RTCPeerConnection: RecordingPeerConnection as unknown as new (c?: RTCConfiguration) => RTCPeerConnection });
    const pc = new WebRTCPeerConnection({}, { engine });
    try {
      const errors: string[] = [];
      pc.on('error', (err) => errors.push(err.code));
      const full = [
        'v=0',
        'o=- 1 1 IN IP4 0.0.0.0',
        's=-',
        't=0 0',
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
        'c=IN IP4 0.0.0.0',
        'a=ice-ufrag:abcd',
        'a=ice-pwd:abcdefghijklmnopqrstuvwx',
        'a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
        'a=setup:actpass',
        'a=mid:0',
        'a=sctp-port:5000',
        '',
      ];
      for (const missing of ['m=application', 'a=ice-ufrag', 'a=ice-pwd', 'a=fingerprint']) {
        const sdp = full.filter((l) => !l.startsWith(missing)).join('\r\n');
        expect(pc.setRemoteDescription('offer', sdp), missing).toBe(false);
      }
      pc.poll(); // events are delivered by poll(), as every event of the peer layer
      expect(errors).toEqual([ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP]);
      expect(RecordingPeerConnection.made[0]!.calls).toEqual([]); // the browser never saw them
      expect(pc.getConnectionState()).toBe(ConnectionState.NEW);
      // the complete one goes through to the browser
      expect(pc.setRemoteDescription('offer', full.join('\r\n'))).toBe(true);
    } finally {
      pc.close();
    }
  });
});
