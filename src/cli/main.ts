#!/usr/bin/env node
/**
 * The `rtcmesh` command.
 * @module
 */
import { runMeshDemo } from './demo-mesh.js';
import { runPairDemo } from './demo-pair.js';
import { runServe } from './serve.js';

const USAGE = `usage: rtcmesh <command> [options]

commands:
  demo        signaling server + real peers forming a mesh on loopback, with live stats
              [--peers N (6)] [--seconds S (0 = until Ctrl-C)]
  demo-pair   two real WebRTC peers on loopback: states, RTT and a transfer
  serve       run the lobby signaling server (rtcmesh serve --help)
  help        this text
`;

type Command = (argv: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  demo: (argv) => runMeshDemo(argv),
  'demo-pair': () => runPairDemo(),
  serve: (argv) => runServe(argv),
  help: async () => {
    process.stdout.write(USAGE);
  },
};

async function main(argv: string[]): Promise<void> {
  const name = argv[0] ?? 'help';
  const command = commands[name];
  if (!command) {
    process.stderr.write(`rtcmesh: unknown command "${name}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  await command(argv.slice(1));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`rtcmesh: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
