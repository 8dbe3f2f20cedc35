/**
 * The channels of one mesh link. Every link has the same layout, negotiated
 * with the same ids on both sides, so no in-band announcement is needed:
 *
 * | index | id  | label        | configuration                                  |
 * |-------|-----|--------------|------------------------------------------------|
 * | 0     | 1   | `reliable`   | ordered, reliable                              |
 * | 1     | 2   | `ordered`    | ordered, maxPacketLifeTime = unreliableLifetime |
 * | 2     | 3   | `unreliable` | unordered, maxPacketLifeTime = unreliableLifetime |
 * | 3+i   | 4+i | `"4"`, `"5"` | custom channel i by its TransferMode            |
 *
 * Custom channels: RELIABLE is plain; UNRELIABLE_ORDERED has maxPacketLifeTime 1;
 * UNRELIABLE has maxPacketLifeTime 1 and is unordered.
 * Ids 1000–1023 are reserved for rtcmesh's own control traffic.
 * @module
 */
import type { DataChannelOptions } from '../peer/options.js';
import { TransferMode } from './types.js';

/** First stream id reserved for rtcmesh control channels. */
export const RESERVED_CHANNEL_ID_BASE = 1000;
/** Most custom channels a mesh may declare (ids 4..258), so every one has a transferChannel / RPC channel number (1..255). */
export const MAX_CUSTOM_CHANNELS = 255;

/** One channel of the layout. */
export interface ChannelSpec {
  index: number;
  label: string;
  mode: TransferMode;
  options: DataChannelOptions & { negotiated: true; id: number };
}

/** The layout for a link with the given custom channels and lifetime (ms). */
export function channelLayout(custom: readonly TransferMode[], unreliableLifetime: number): ChannelSpec[] {
  const specs: ChannelSpec[] = [
    { index: 0, label: 'reliable', mode: TransferMode.RELIABLE, options: { negotiated: true, id: 1, ordered: true } },
    {
      index: 1,
      label: 'ordered',
      mode: TransferMode.UNRELIABLE_ORDERED,
      options: { negotiated: true, id: 2, ordered: true, maxPacketLifeTime: unreliableLifetime },
    },
    {
      index: 2,
      label: 'unreliable',
      mode: TransferMode.UNRELIABLE,
      options: { negotiated: true, id: 3, ordered: false, maxPacketLifeTime: unreliableLifetime },
    },
  ];
  custom.forEach((mode, i) => {
    const id = 4 + i;
    const options: ChannelSpec['options'] =
      mode === TransferMode.RELIABLE
        ? { negotiated: true, id, ordered: true }
        : { negotiated: true, id, ordered: mode === TransferMode.UNRELIABLE_ORDERED, maxPacketLifeTime: 1 };
    specs.push({ index: 3 + i, label: String(id), mode, options });
  });
  return specs;
}

/** Index of the channel `putPacket` uses for a transfer channel and mode. */
export function channelIndexFor(transferChannel: number, mode: TransferMode): number {
  if (transferChannel > 0) return transferChannel + 2;
  return mode === TransferMode.RELIABLE ? 0 : mode === TransferMode.UNRELIABLE_ORDERED ? 1 : 2;
}

/** The user-visible channel number of a layout index (0 for the three defaults). */
export function transferChannelOf(index: number): number {
  return index < 3 ? 0 : index - 2;
}
