/**
 * Does a failed SMTP AUTH take as long for an unknown user name as for a known one with a
 * wrong password? Times FleetService.authenticateSmtp both ways, interleaved, on SQLite.
 *
 *   node --import tsx bench/smtp-auth-timing.ts [rounds=20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { startMailshift } from '../src/main.ts';

const rounds = Number(process.argv[2] ?? 20_000);
const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-auth-timing-'));
const app = await startMailshift(
  loadConfig({
    MAILSHIFT_DATA_DIR: dataDir,
    MAILSHIFT_SMTP_PORT: '0',
    MAILSHIFT_HTTP_PORT: '0',
    MAILSHIFT_CAPTURE_PORT: '0',
    MAILSHIFT_FEEDBACK_PORT: '0',
    MAILSHIFT_ADMIN_TOKEN: 'bench-admin-token-9d0e4f7a1c3b5286',
  }),
  { logger: pino({ level: 'silent' }) },
);
try {
  const fleet = app.services.fleet;
  await fleet.createCustomer({ name: 'timing', contacts: [{ email: 'ops@timing.example' }] });
  await fleet.createInstance({ name: 'known-user', customer: 'timing', productLine: 'managed-cloud', environment: 'production', infrastructure: 'local' });
  const samples = { known: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so neither always pays for the other's warm-up.
    const pair = [
      ['known', 'known-user'],
      ['unknown', 'unknown-user'],
    ] as const;
    for (const [kind, user] of i % 2 === 0 ? pair : [...pair].reverse()) {
      const t = performance.now();
      await fleet.authenticateSmtp(user, `wrong-${i}`);
      samples[kind].push((performance.now() - t) * 1000);
    }
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q: number) => Math.round(s[Math.floor(q * (s.length - 1))] * 10) / 10;
    return { p50: at(0.5), p90: at(0.9), mean: Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 };
  };
  console.log(JSON.stringify({ rounds, microseconds: { knownUserWrongPassword: stats(samples.known), unknownUser: stats(samples.unknown) } }, null, 2));
} finally {
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
