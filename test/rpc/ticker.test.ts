import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { RpcEndpoint, Ticker } from '../../src/rpc/index.js';
import { FakeHub } from './fake-mesh.js';

function pair() {
  const hub = new FakeHub();
  const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
  hub.link(1, 2);
  const got: [number, number][] = [];
  const mk = (m: typeof a) => new RpcEndpoint(m).register('hit', (ctx, n: number) => void got.push([ctx.tick, n]), { mode: 'any_peer' });
  return { hub, ea: mk(a), eb: mk(b), got };
}

describe('Ticker', () => {
  it('runs poll → dispatch → update → flush in that order', () => {
    const { ea, eb, got, hub } = pair();
    const order: string[] = [];
    const ticker = new Ticker([ea, eb], {
      update: (tick) => {
        order.push(`update ${tick} received ${got.length} sent ${hub.packetsSent}`);
        if (tick === 3) ea.rpc('hit', 7);
      },
    });
    for (let i = 0; i < 5; i++) ticker.step();
    // Tick 3's call leaves at the end of tick 3 and is dispatched by tick 4's poll, before tick 4's update.
    expect(got).toEqual([[4, 7]]);
    expect(order[3]).toMatch(/^update 4 received 1 /);
    expect(ticker.tick).toBe(5);
  });

  it("handlers' ctx.tick is the driving Ticker's tick, not the endpoint's own poll count", () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    const seen: [string, number, number][] = [];
    const mk = (m: typeof a) =>
      new RpcEndpoint(m).register('hit', (ctx, n: number) => void seen.push([`at ${m.getUniqueId()} from ${ctx.senderId}`, ctx.tick, n]), { mode: 'any_peer', callLocal: true });
    const ea = mk(a);
    const eb = mk(b);
    // Polled by hand first (as a game might before starting its loop): the endpoints' counters run ahead.
    for (let i = 0; i < 7; i++) (ea.poll(), eb.poll(), ea.flush(), eb.flush());
    expect([ea.tick, eb.tick]).toEqual([7, 7]);
    const updates: number[] = [];
    // Two tickers (two game processes) at different tick numbers.
    const ta = new Ticker(ea, { update: (t) => (updates.push(t), t === 2 && ea.rpc('hit', 1)) });
    const tb = new Ticker(eb, { update: (t) => t === 12 && eb.rpc('hit', 2) });
    for (let i = 0; i < 10; i++) tb.step();
    for (let i = 0; i < 4; i++) (ta.step(), tb.step());
    // a calls in its tick 2 (and runs it locally then); b runs it when it next polls, in b's tick 12,
    // and calls back in that update (running it locally in 12); a runs that in its tick 3.
    expect(seen).toEqual([
      ['at 1 from 1', 2, 1],
      ['at 2 from 1', 12, 1],
      ['at 2 from 2', 12, 2],
      ['at 1 from 2', 3, 2],
    ]);
    expect([ea.tick, eb.tick]).toEqual([ta.tick, tb.tick]);
    expect(updates).toEqual([1, 2, 3, 4]);
    expect(() => ea.poll(-1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    ea.poll();
    expect(ea.tick).toBe(5); // without a ticker: the previous tick + 1
  });

  it('fixed timestep on a virtual clock with bounded catch-up and an overrun counter', () => {
    const { ea } = pair();
    let now = 1000;
    const ticks: number[] = [];
    const overruns: number[] = [];
    const ticker = new Ticker(ea, { rate: 50, maxCatchUp: 3, clock: { now: () => now }, update: (t, dt) => (ticks.push(t), expect(dt).toBe(20)) });
    ticker.on('overrun', (n) => overruns.push(n));
    expect(ticker.advance()).toBe(1); // first call starts the schedule
    expect(ticker.advance()).toBe(0);
    now += 19;
    expect(ticker.advance()).toBe(0);
    now += 1;
    expect(ticker.advance()).toBe(1);
    now += 40;
    expect(ticker.advance()).toBe(2);
    now += 200; // 10 ticks late
    expect(ticker.advance()).toBe(3);
    expect(ticker.overruns).toBe(1);
    expect(ticker.skippedTicks).toBe(7);
    expect(overruns).toEqual([7]);
    now += 20;
    expect(ticker.advance()).toBe(1); // back on schedule, no second overrun
    expect(ticker.overruns).toBe(1);
    expect(ticks).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('real-time driver ticks on its own and stops', async () => {
    const { ea } = pair();
    const ticker = new Ticker(ea, { rate: 1000 });
    await new Promise<void>((resolve) => {
      ticker.on('tick', (t) => t === 3 && resolve());
      ticker.start();
    });
    ticker.stop();
    expect(ticker.running).toBe(false);
    expect(ticker.tick).toBeGreaterThanOrEqual(3);
    expect(() => (ticker.start(), ticker.start())).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
    ticker.stop();
  });

  it('the real-time driver reports a throwing update as update_error and keeps ticking', async () => {
    const { ea } = pair();
    const errors: unknown[] = [];
    const ticker = new Ticker(ea, {
      rate: 1000,
      update: (t) => {
        if (t === 2) throw new Error('boom');
      },
    });
    ticker.on('update_error', (e) => errors.push(e));
    await new Promise<void>((resolve) => {
      ticker.on('tick', (t) => t === 4 && resolve());
      ticker.start();
    });
    ticker.stop();
    expect(errors).toEqual([expect.objectContaining({ message: 'boom' })]);
    expect(ticker.running).toBe(false);
  });

  it('validates its options', () => {
    const { ea } = pair();
    expect(() => new Ticker(ea, { rate: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => new Ticker(ea, { maxCatchUp: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => new Ticker(ea, { hz: 60 } as never)).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_OPTION }));
    expect(() => new Ticker([{} as never])).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});
