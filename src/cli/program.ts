/**
 * The `rtcmesh` command line, on commander. Each command is declared in one
 * place here (name, summary, options, examples) and runs a function from its
 * own module; `runCli` turns every failure into one line on stderr, a hint and
 * a documented exit code (see exit-codes.ts).
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_CODES_HELP, ExitCode, describeFailure } from './exit-codes.js';
import { SERVE_USAGE } from './serve.js';

/** Where the CLI writes (tests capture these). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** commander argument parser for an integer within bounds. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** commander argument parser for a number within bounds. */
export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

interface DemoFlags {
  peers: number;
  seconds: number;
  lobby: string;
  port: number;
  webPort: number;
  web: boolean;
  virtual?: boolean;
  latency: number;
  jitter: number;
  loss: number;
  seed: number;
  json?: boolean;
}

/** Build the program. Exported for tests; `main.ts` runs it. */
export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('rtcmesh');
  program
    .description('Multiplayer networking on WebRTC data channels: demo, signaling server, load test and benchmarks.')
    .version(version(), '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      // commander's own usage errors: one line, with a hint.
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `${examples(['rtcmesh demo                      # the arena game on loopback (what npm start runs)', 'rtcmesh serve --port 9080         # a lobby signaling server on 127.0.0.1:9080', 'rtcmesh loadtest ws://127.0.0.1:9080 --clients 200 --lobbies 20', 'rtcmesh bench mesh                # one benchmark suite (needs the source checkout)', 'rtcmesh demo --help'])}\n${EXIT_CODES_HELP}\n`,
    );

  program
    .command('demo')
    .summary('the arena game: signaling server, host and bot processes, game page, live link and sync stats')
    .description(
      'Start an embedded signaling server, a host process (Mesh.host, peer 1) and bot processes (Mesh.join; real WebRTC, node-datachannel) playing a small arena game in one mesh lobby on loopback: bots stream inputs to the host, the host replicates players and orbs with the sync layer (delta snapshots, spatial interest), chat goes over RPC. Serves the game page so you can play too, and shows live per-link and per-peer sync tables. kill -9 a peer process (the host too) to watch detection and recovery. --virtual runs the same game on the virtual network.',
    )
    .addOption(new Option('--peers <n>', 'players started by the demo (the host and n-1 bots)').argParser(integer(2, 32)).default(4))
    .addOption(new Option('--seconds <s>', 'stop after S seconds (0 = until Ctrl-C; --virtual: simulated seconds, default 10)').argParser(decimal(0, 86_400)).default(0))
    .addOption(new Option('--lobby <name>', 'lobby name (printed; join it from the page or your code)').default('arena'))
    .addOption(new Option('--port <n>', 'signaling server port (0 = any free port)').argParser(integer(0, 65535)).default(0))
    .addOption(new Option('--web-port <n>', 'game page port (0 = any free port)').argParser(integer(0, 65535)).default(0))
    .addOption(new Option('--no-web', 'do not serve the game page'))
    .addOption(new Option('--virtual', 'run the same game on the virtual network, as fast as the CPU allows'))
    .addOption(new Option('--latency <ms>', 'virtual: one-way latency').argParser(decimal(0, 10_000)).default(40))
    .addOption(new Option('--jitter <ms>', 'virtual: jitter').argParser(decimal(0, 10_000)).default(5))
    .addOption(new Option('--loss <p>', 'virtual: packet loss, 0..1').argParser(decimal(0, 0.9)).default(0.02))
    .addOption(new Option('--seed <n>', 'virtual: random seed').argParser(integer(0, 2 ** 31 - 1)).default(1))
    .addOption(new Option('--json', 'print one JSON summary line last (peers, links, rtt_p50_ms, rtt_p99_ms, msgs, lost_reliable, reconnects, restarts, sync_objects, sync_objects_min, sync_players_min, sync_bytes_per_client_tick, msgpack_full_bytes_per_client_tick, sync_ratio_vs_full, sync_acked, sync_input_lag_ms_p50, sync_errors…)'))
    .addHelpText(
      'after',
      examples(['rtcmesh demo                               # then open the printed http://127.0.0.1:PORT/', 'rtcmesh demo --peers 6 --seconds 30', 'rtcmesh demo --seconds 10 --json', 'rtcmesh demo --virtual --latency 80 --jitter 20 --loss 0.05 --seconds 60']),
    )
    .action(async (opts: DemoFlags) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.lobby)) throw new CliError(`demo: --lobby "${opts.lobby}" is not a lobby name`, ExitCode.USAGE, 'use 1-64 characters of A-Z a-z 0-9 _ . -');
      if (!opts.json || process.stdout.isTTY) io.out(`rtcmesh demo: starting ${opts.peers} players${opts.virtual ? ' on the virtual network' : ' in their own processes'}…\n`);
      const { runMeshDemo } = await import('./demo-mesh.js');
      await runMeshDemo({
        peers: opts.peers,
        seconds: opts.seconds,
        port: opts.port,
        lobby: opts.lobby,
        json: opts.json === true,
        ...(opts.web ? { webPort: opts.webPort } : {}),
        ...(opts.virtual ? { virtual: { latencyMs: opts.latency, jitterMs: opts.jitter, loss: opts.loss, seed: opts.seed } } : {}),
        out: io.out,
        tty: io.out === processIo.out && process.stdout.isTTY === true,
      });
    });

  program
    .command('demo-pair')
    .summary('two real WebRTC peers on loopback: states, RTT and a transfer')
    .addHelpText('after', examples(['rtcmesh demo-pair']))
    .action(async () => {
      const { runPairDemo } = await import('./demo-pair.js');
      await runPairDemo();
    });

  // serve keeps its own flag table in serve.ts (one place for every serve flag,
  // shared with runServe() used by tests and the bench): commander passes the
  // arguments through untouched and shows that table as the command's help.
  const serve = program
    .command('serve')
    .summary('run the lobby signaling server (binds 127.0.0.1 unless --host says otherwise)')
    .argument('[options...]')
    .allowUnknownOption()
    .passThroughOptions()
    .helpOption(false)
    .action(async (args: string[]) => {
      if (args.includes('--help') || args.includes('-h')) {
        io.out(serveHelp());
        return;
      }
      const { runServe } = await import('./serve.js');
      await runServe(args, { out: (line) => io.out(`${line}\n`) });
    });
  serve.helpInformation = () => serveHelp();

  program
    .command('bench')
    .summary('run the benchmarks (bench/run.ts; needs the source checkout)')
    .argument('[suites...]', 'suites to run (default: all)')
    .option('--list', 'list the suites and exit')
    .addHelpText('after', examples(['rtcmesh bench --list', 'rtcmesh bench mesh', 'rtcmesh bench peer rpc']))
    .action(async (suites: string[], opts: { list?: boolean }) => {
      const { runBench } = await import('./bench.js');
      const code = await runBench(suites, { list: opts.list === true, out: io.out });
      if (code !== 0) throw new CliError(`bench: ${code === ExitCode.USAGE ? 'unknown suite' : 'a suite failed'}`, code, code === ExitCode.USAGE ? 'run "rtcmesh bench --list" for the suites' : 'see the suite output above');
    });

  program
    .command('loadtest')
    .summary('real WebSocket clients joining lobbies and relaying through a running server')
    .argument('<ws-url>', 'the signaling server, e.g. ws://127.0.0.1:9080')
    .addOption(new Option('--clients <n>', 'WebSocket clients').argParser(integer(1, 100_000)).default(100))
    .addOption(new Option('--lobbies <m>', 'lobbies the clients are spread over').argParser(integer(1, 100_000)).default(10))
    .addOption(new Option('--seconds <s>', 'relay phase duration').argParser(decimal(0.1, 3600)).default(5))
    .addOption(new Option('--rate <n>', 'relay messages per second per client').argParser(integer(1, 1000)).default(10))
    .addOption(new Option('--concurrency <n>', 'joins in flight at once').argParser(integer(1, 10_000)).default(50))
    .addOption(new Option('--json', 'print one JSON summary line last'))
    .addHelpText('after', examples(['rtcmesh serve --port 9080 &', 'rtcmesh loadtest ws://127.0.0.1:9080 --clients 200 --lobbies 20', 'rtcmesh loadtest ws://127.0.0.1:9080 --clients 50 --lobbies 5 --seconds 10 --json']))
    .action(async (url: string, opts: { clients: number; lobbies: number; seconds: number; rate: number; concurrency: number; json?: boolean }) => {
      if (!/^wss?:\/\//.test(url)) throw new CliError(`loadtest: "${url}" is not a ws:// or wss:// URL`, ExitCode.USAGE, 'pass the server address, e.g. ws://127.0.0.1:9080');
      if (opts.lobbies > opts.clients) throw new CliError(`loadtest: --lobbies (${opts.lobbies}) must not exceed --clients (${opts.clients})`, ExitCode.USAGE, 'use fewer lobbies or more clients');
      const { runLoadtest } = await import('./loadtest.js');
      const report = await runLoadtest({ url, ...opts, json: opts.json === true, out: io.out, tty: process.stdout.isTTY === true && io.out === processIo.out });
      if (report.joined === 0) throw new CliError(`loadtest: no client could join ${url} (first error: ${report.firstError ?? 'unknown'})`, ExitCode.NETWORK, 'is the server running at that address? start one with "rtcmesh serve"');
      if (report.errors > 0) throw new CliError(`loadtest: ${report.errors} error(s) (first: ${report.firstError ?? 'unknown'})`, ExitCode.CHECK_FAILED, 'see the table above; raise the server limits (--max-peers, --rate-limit) or lower --clients/--rate');
    });

  return program;
}

function serveHelp(): string {
  return `${SERVE_USAGE}${examples(['rtcmesh serve                          # ws://127.0.0.1:9080, this machine only', 'rtcmesh serve --host 0.0.0.0 --port 9080 --origin https://game.example', 'RTCMESH_SIGNALING_SECRET=s3cret rtcmesh serve --metrics-port 9100'])}`;
}

/**
 * Run the command line and return the exit code (never throws, never calls
 * `process.exit`). Errors print as `rtcmesh: <what>` and `  hint: <what to do>`.
 */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  let command: string | undefined;
  try {
    command = argv.find((a) => !a.startsWith('-'));
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.OK;
    }
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
      const known = program.commands.some((c) => c.name() === command);
      const hint = `run "rtcmesh ${known ? `${command} ` : ''}--help" for the ${known ? 'options' : 'commands'}`;
      io.err(`rtcmesh: ${err.message.replace(/^error: /, '').split('\n')[0]}\n  hint: ${hint}\n`);
      return ExitCode.USAGE;
    }
    const known = program.commands.some((c) => c.name() === command) ? command : undefined;
    const failure = describeFailure(err, known);
    io.err(`rtcmesh: ${failure.line}\n${failure.hint ? `  hint: ${failure.hint}\n` : ''}`);
    return failure.code;
  }
}
