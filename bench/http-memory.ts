/**
 * Memory of the HTTP door under large messages: `parallel` clients each POST one JSON
 * `raw` message of `mb` MB to a real `mailshift serve` at once; prints the server's RSS
 * before, its peak (VmHWM), just after, and `settleS` seconds later. The instance is
 * suspended, so the figures are those of receiving and spooling, not of delivering.
 *
 *   node --import tsx bench/http-memory.ts [--parallel 20] [--mb 20] [--settle 60] [--inflight-mb 512]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { freePorts, spawnServer, waitForHealthy } from '../test/helpers/process.ts';
import { statusKb, sleep } from './proc.ts';

const { values } = parseArgs({
  options: {
    parallel: { type: 'string', default: '20' },
    mb: { type: 'string', default: '20' },
    settle: { type: 'string', default: '60' },
    'inflight-mb': { type: 'string', default: '512' },
  },
});
const parallel = Number(values.parallel);
const mb = Number(values.mb);
const settleS = Number(values.settle);
const adminToken = 'bench-admin-token-8d1f4c2a9e7b3605';

const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-httpmem-'));
const [smtpPort, httpPort, capturePort] = await freePorts(3);
const url = `http://127.0.0.1:${httpPort}`;
const server = spawnServer({
  // As `npm start` runs it (see the README's memory note).
  MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
  MAILSHIFT_DATA_DIR: dataDir,
  MAILSHIFT_SMTP_PORT: String(smtpPort),
  MAILSHIFT_HTTP_PORT: String(httpPort),
  MAILSHIFT_CAPTURE_PORT: String(capturePort),
  MAILSHIFT_FEEDBACK_PORT: '0',
  MAILSHIFT_ADMIN_TOKEN: adminToken,
  MAILSHIFT_LOG_LEVEL: 'warn',
  MAILSHIFT_MAX_INFLIGHT_BYTES: String(Number(values['inflight-mb']) * 1024 * 1024),
});

try {
  await waitForHealthy(url, server);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  await admin('POST', '/api/admin/v1/customers', { name: 'bench', contacts: [{ email: 'ops@bench.example' }] });
  const created = await admin('POST', '/api/admin/v1/instances', {
    name: 'bench',
    customer: 'bench',
    productLine: 'managed-cloud',
    environment: 'production',
    infrastructure: 'local',
  });
  await admin('POST', '/api/admin/v1/instances/bench/suspend', { reason: 'memory bench' });
  const apiKey = created.credentials.apiKey as string;

  // 76-character base64-like lines: the shape of a large attachment in raw MIME.
  const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n';
  const rawBody = `From: news@bench.example\r\nTo: someone@example.com\r\nSubject: large\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${line.repeat(Math.ceil((mb * 1024 * 1024) / line.length))}`;
  const payload = Buffer.from(JSON.stringify({ raw: rawBody }));
  const pid = server.child.pid!;
  await sleep(1000);
  const before = statusKb(pid, 'VmRSS');

  let sampledPeak = before;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, statusKb(pid, 'VmRSS'))), 20);
  const started = Date.now();
  const statuses = await Promise.all(Array.from({ length: parallel }, () => post(`${url}/api/v1/messages`, apiKey, payload)));
  const tookMs = Date.now() - started;
  clearInterval(sampler);
  const peak = Math.max(statusKb(pid, 'VmHWM'), sampledPeak);
  const after = statusKb(pid, 'VmRSS');
  const trail: number[] = [];
  for (let t = 10; t <= settleS; t += 10) {
    await sleep(10_000);
    trail.push(statusKb(pid, 'VmRSS'));
  }
  const settled = statusKb(pid, 'VmRSS');

  const counts = Object.entries(
    statuses.reduce<Record<number, number>>((acc, s) => {
      acc[s] = (acc[s] ?? 0) + 1;
      return acc;
    }, {}),
  );
  const inflightMb = (parallel * payload.length) / 1024 / 1024;
  const mbOf = (kb: number) => `${Math.round(kb / 1024)} MB`;
  console.log(
    `http-memory: ${parallel} parallel × ${(payload.length / 1024 / 1024).toFixed(1)} MB JSON raw bodies (${inflightMb.toFixed(0)} MB in flight), answers ${counts.map(([s, n]) => `${n}×${s}`).join(', ')} in ${(tookMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `  RSS before ${mbOf(before)}, peak ${mbOf(peak)} (target ≤ ${Math.round(2 * inflightMb + 150)} MB), just after ${mbOf(after)}, ${settleS} s later ${mbOf(settled)} (target < 300 MB)`,
  );
  console.log(`  every 10 s after: ${trail.map(mbOf).join(', ')}`);
} finally {
  await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

function post(target: string, key: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: 'POST', agent: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
