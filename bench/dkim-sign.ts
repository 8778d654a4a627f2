/**
 * DKIM signing cost per message, in process: RSA-2048, Ed25519 and both (dual signing).
 * One at a time (each signature awaited: the latency a delivery sees) and 16 at once (the
 * private-key work spread over libuv's thread pool, as concurrent deliveries run it), with
 * the event loop's own CPU per message.
 *
 *   node --import tsx bench/dkim-sign.ts [--messages 2000] [--size 10k]
 *
 * Prints figures; asserts nothing about speed.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dkimSign, type SigningKey } from '../src/engine/dkim.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const messages = Number(option('messages', '2000'));
const size = Number.parseInt(option('size', '10k'), 10) * 1024;

const pem = (k: { privateKey: KeyObject }) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa: SigningKey = { domain: 'bench.example', selector: 'r', privateKey: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })) };
const ed: SigningKey = { domain: 'bench.example', selector: 'e', privateKey: pem(generateKeyPairSync('ed25519')) };
const head =
  'From: news@bench.example\r\nTo: someone@example.com\r\nSubject: bench\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <b@bench.example>\r\n\r\n';
const raw = Buffer.from(head + 'lorem ipsum dolor sit amet\r\n'.repeat(Math.max(1, Math.floor((size - head.length) / 28))));

async function run(keys: readonly SigningKey[], concurrency: number): Promise<{ perSecond: number; loopMs: number }> {
  let next = 0;
  const worker = async () => {
    while (next < messages) {
      next++;
      await dkimSign(raw, keys);
    }
  };
  const loop = performance.eventLoopUtilization();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const busy = performance.eventLoopUtilization(loop).active;
  return { perSecond: messages / (ms / 1000), loopMs: busy / messages };
}

for (const [name, keys] of [
  ['rsa-2048', [rsa]],
  ['ed25519', [ed]],
  ['rsa-2048 + ed25519', [rsa, ed]],
] as const) {
  for (let i = 0; i < 50; i++) await dkimSign(raw, keys);
  for (const concurrency of [1, 16]) {
    const r = await run(keys, concurrency);
    console.log(
      `${name}, ${concurrency} at once: ${Math.round(r.perSecond)} messages/s, event loop busy ${r.loopMs.toFixed(3)} ms per message (${raw.length} bytes)`,
    );
  }
}
