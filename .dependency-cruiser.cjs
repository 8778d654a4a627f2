/**
 * The layers of ARCHITECTURE.md, enforced by `npm run lint`: dependencies point inward.
 *
 *   core  ←  store ← engine ← main.ts (composition root: may import anything)
 *     ↑  ←  app   ← http, smtp (adapters)
 *   cli talks to the HTTP API; it shares only the API's schemas and core's input checks.
 */
const notTests = '(?<!\\.test)\\.ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'An import cycle ties layers together.', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core is the pure domain: no other layer, no npm package, no node:* module.',
      from: { path: `^src/core/.+${notTests}` },
      to: { pathNot: '^src/core/' },
    },
    {
      name: 'store-knows-only-core',
      severity: 'error',
      comment: 'Repositories implement ports; they call no service, loop or adapter.',
      from: { path: '^src/store/' },
      to: { path: '^src/(app|engine|http|smtp|cli|simulate|notices|spool)/|^src/(main|config)\\.ts$' },
    },
    {
      name: 'app-is-not-an-adapter',
      severity: 'error',
      comment: 'Application services declare the ports they need; loops and doors depend on them, not the reverse.',
      from: { path: '^src/app/' },
      to: { path: '^src/(engine|http|smtp|cli|simulate)/|^src/main\\.ts$' },
    },
    {
      name: 'engine-does-not-call-doors',
      severity: 'error',
      comment: 'The loops carry out effects through ports; they do not reach into services or the HTTP door.',
      from: { path: '^src/engine/' },
      to: { path: '^src/(app|http|cli|simulate)/|^src/main\\.ts$' },
    },
    {
      name: 'http-parses-calls-presents',
      severity: 'error',
      comment: 'Routes call services; they never touch the store, the loops or the SMTP side.',
      from: { path: '^src/http/' },
      to: { path: '^src/(store|engine|smtp|cli|simulate)/|^src/main\\.ts$' },
    },
    {
      name: 'smtp-door-calls-services',
      severity: 'error',
      comment: 'The SMTP door calls the same services as the HTTP door.',
      from: { path: '^src/smtp/' },
      to: { path: '^src/(engine|http|cli|simulate)/|^src/main\\.ts$' },
    },
    {
      name: 'cli-talks-to-the-api',
      severity: 'error',
      comment: 'The CLI talks to the HTTP API; only `serve` and `simulate` run the server in-process.',
      from: { path: '^src/cli/', pathNot: '^src/cli/(serve|simulate)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(cli|http/schemas)/|^src/core/fleet/fleet-input\\.ts$|^src/core/(errors|delivery/throttle|net/ip-address)\\.ts$|^src/core/fleet/fleet\\.ts$' },
    },
    {
      name: 'console-uses-api-schemas-only',
      severity: 'error',
      comment: 'The console talks to the HTTP API; it shares only the schemas of its responses.',
      from: { path: '^console/src/' },
      to: { path: '^src/', pathNot: '^src/http/schemas/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js'] },
    exclude: { path: ['node_modules', 'console/dist'] },
  },
};
