/**
 * The test-process side of test/system/netns-agent.ts: start an agent inside
 * a lab namespace, send it commands, wait for its events, and relay
 * signaling between two agents (the test process is the signaling channel).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { waitForEvent } from '../helpers.js';
import type { NatLab } from './netns.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = fileURLToPath(new URL('./netns-agent.ts', import.meta.url));

/** One event line from an agent. */
export type AgentEvent = { ev: string } & Record<string, any>;

/** An agent process inside a namespace. */
export class LabPeer {
  readonly events = new EventEmitter();
  /** Every event so far, oldest first. */
  readonly history: AgentEvent[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(lab: NatLab, namespace: string, readonly name: string) {
    this.child = lab.spawnIn(namespace, [process.execPath, '--import', 'tsx', AGENT], { cwd: ROOT });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let event: AgentEvent;
      try {
        event = JSON.parse(line) as AgentEvent;
      } catch {
        this.stderr += `[stdout] ${line}\n`;
        return;
      }
      this.history.push(event);
      if (event.ev === 'fatal') this.stderr += `[fatal] ${event['message']}\n`;
      this.events.emit(event.ev, event);
    });
  }

  /** Send a command (see netns-agent.ts). */
  send(cmd: Record<string, unknown>): void {
    if (this.child.stdin!.writable) this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  /** The next (or an already seen, when `past`) event `ev` matching `pred`. */
  async next(ev: string, pred: (e: AgentEvent) => boolean = () => true, timeoutMs = 20_000, past = false): Promise<AgentEvent> {
    if (past) {
      const seen = this.history.find((e) => e.ev === ev && pred(e));
      if (seen) return seen;
    }
    try {
      const [event] = await waitForEvent<[AgentEvent]>(this.events, ev, pred, timeoutMs);
      return event;
    } catch (err) {
      throw new Error(`${this.name}: ${(err as Error).message}; stderr: ${this.stderr.slice(-2000)}`);
    }
  }

  /** Wait for the agent to be ready to take commands. */
  ready(): Promise<AgentEvent> {
    return this.next('ready', () => true, 30_000, true);
  }

  /** Ask the agent to close and wait until it has exited by itself. */
  async close(): Promise<void> {
    this.send({ op: 'close' });
    this.child.stdin!.end();
    await this.exited;
  }
}

/** Relay descriptions and candidates between two agents. */
export function relaySignaling(a: LabPeer, b: LabPeer): void {
  const forward = (from: LabPeer, to: LabPeer) => {
    from.events.on('description', (e: AgentEvent) => to.send({ op: 'description', type: e['type'], sdp: e['sdp'] }));
    from.events.on('candidate', (e: AgentEvent) => to.send({ op: 'candidate', mid: e['mid'], index: e['index'], candidate: e['candidate'] }));
  };
  forward(a, b);
  forward(b, a);
}

/** The `typ` of an ICE candidate line (host, srflx, prflx, relay). */
export function candidateType(candidate: string): string | undefined {
  return / typ (\w+)/.exec(candidate)?.[1];
}
