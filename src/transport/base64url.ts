/**
 * base64url (RFC 4648 §5, no padding) for UTF-8 text, without Node.js APIs so
 * it runs in browsers too. Same output as Node's `Buffer#toString('base64url')`.
 * @module
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** Encode the UTF-8 bytes of `text` as unpadded base64url. */
export function base64urlEncode(text: string): string {
  const bytes = encoder.encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += ALPHABET[b0 >> 2]!;
    out += ALPHABET[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    if (b1 !== undefined) out += ALPHABET[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    if (b2 !== undefined) out += ALPHABET[b2 & 63]!;
  }
  return out;
}

/**
 * Decode unpadded (or padded) base64url to text. Returns undefined when the
 * input is not base64url; invalid UTF-8 becomes U+FFFD, as with Buffer.
 */
export function base64urlDecode(encoded: string): string | undefined {
  const text = encoded.replace(/=+$/, '');
  if (text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const c of text) {
    const v = VALUES.get(c);
    if (v === undefined) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[n++] = (acc >> bits) & 0xff;
    }
  }
  return decoder.decode(bytes.subarray(0, n));
}
