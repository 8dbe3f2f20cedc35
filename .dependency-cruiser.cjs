/**
 * Layering rules (../shared/design.md): transport → peer → mesh → rpc → sync,
 * signaling beside them; util and errors below everything; no import cycles.
 * Run by `npm test` (test/architecture.test.ts) and `npm run lint:deps`.
 */
const layer = (name, mayNotImport, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^src/${name.split(':')[1]}/` },
  to: { path: mayNotImport },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles hide layering mistakes.', from: {}, to: { circular: true } },
    layer('layer:util', '^src/(?!util/|errors\\.ts)', 'util is the bottom: it imports nothing else of ours.'),
    layer('layer:transport', '^src/(peer|mesh|rpc|sync|signaling|cli|metrics|drivers)/', 'Engines know nothing above them.'),
    layer('layer:peer', '^src/(mesh|rpc|sync|signaling|cli|metrics)/', 'The peer layer sits on the engine interface only.'),
    layer('layer:mesh', '^src/(rpc|sync|cli|metrics)/', 'The mesh imports peer, transport and the signaling client interface only.'),
    layer('layer:rpc', '^src/(sync|signaling|cli|metrics)/', 'RPC builds on the mesh only.'),
    layer('layer:sync', '^src/(signaling|cli|metrics)/', 'Sync builds on RPC and the mesh.'),
    layer('layer:signaling', '^src/(peer|mesh|rpc|sync|transport|cli|metrics)/', 'Signaling is a product of its own beside the stack.'),
    {
      name: 'no-node-in-browser-code',
      severity: 'error',
      comment: 'Everything but the Node-only drivers, the datachannel engine, the CLI and metrics must run in a browser.',
      from: { path: '^src/', pathNot: '^src/(cli|metrics|index\\.ts|entries/(signaling|engine)\\.ts|signaling/redis/|signaling/drivers/(server|server-options|outbox|inbox|connection|address-gate|hmac-tokens|turn-credentials|ws-frames|ws-socket|ws-handshake)\\.ts|transport/datachannel)' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(test|bench|examples|dist)/' },
  },
};
