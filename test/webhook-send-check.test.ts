import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseNetworkList } from '../src/core/net/ip-address.ts';
import { parseWebhookUrl } from '../src/core/net/webhook-url.ts';
import { WebhookSender, defaultWebhookOptions, webhookFailureText } from '../src/engine/webhook-sender.ts';
import { WebhookTargets, type Resolver } from '../src/engine/webhook-target.ts';
import type { Webhook, WebhookRepository } from '../src/store/webhook-repository.ts';
import type { EventRecord, EventRepository } from '../src/store/event-repository.ts';

const secret = 'whsec-unit-test-signing-secret';
const now = Date.UTC(2025, 0, 6, 9, 0, 0);
const loopback = (parseNetworkList('127.0.0.0/8') as { ok: true; networks: [] }).networks;

/** In-memory webhooks and one settled event per instance: just what the sender reads and writes. */
function world(urls: string[]) {
  const hooks: Webhook[] = urls.map((url, i) => ({ id: i + 1, instanceId: 7, url, secret, cursor: 0, failures: 0, nextAttemptAt: 0, lastError: null }));
  const find = (id: number) => hooks.find((h) => h.id === id)!;
  const webhooks = {
    list: async () => hooks.map((h) => ({ ...h })),
    advance: async (id: number, cursor: number) => void Object.assign(find(id), { cursor, failures: 0, nextAttemptAt: 0, lastError: null }),
    failed: async (id: number, failures: number, nextAttemptAt: number, lastError: string) =>
      void Object.assign(find(id), { failures, nextAttemptAt, lastError }),
  } as unknown as WebhookRepository;
  const event: EventRecord = {
    id: 1,
    instanceId: 7,
    messageId: 'm-1',
    deliveryId: 1,
    type: 'delivered',
    recipient: 'a@example.com',
    at: now - 5000,
    detail: {},
  };
  const spool = { eventsAfter: async (_instance: number, after: number) => (after < event.id ? [event] : []) } as unknown as EventRepository;
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  return { hooks, webhooks, spool, log, lines };
}

async function receiver(handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(204).end()) {
  const requests: { host: string }[] = [];
  const server = createServer((req, res) => {
    requests.push({ host: String(req.headers.host) });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    requests,
    port: (server.address() as AddressInfo).port,
    server,
    close: () => (server.closeAllConnections(), new Promise((r) => server.close(r))),
  };
}

const clock = { now: () => now, sleep: async () => undefined };

async function sendOnce(w: ReturnType<typeof world>, targets: WebhookTargets, timeoutMs = 2000) {
  const sender = new WebhookSender(w.webhooks, w.spool, clock, w.log, targets, { ...defaultWebhookOptions, timeoutMs });
  await sender.poll();
  await sender.settled();
}

describe('webhook targets are checked again at every send', () => {
  test('a host that passed at creation but resolves inward later is not contacted', async () => {
    const r = await receiver();
    try {
      const dns = new Map<string, string[]>([['hooks.tenant.example', ['93.184.216.34']]]);
      const resolver: Resolver = async (host) => dns.get(host) ?? [];
      const targets = new WebhookTargets([], { resolver });
      const url = `http://hooks.tenant.example:${r.port}/events`;
      const atCreation = await targets.check((parseWebhookUrl(url) as { ok: true; value: URL }).value);
      assert.ok(atCreation.ok, 'public at creation');

      // The tenant's DNS now points at loopback, where something of ours listens.
      dns.set('hooks.tenant.example', ['127.0.0.1']);
      const w = world([url]);
      await sendOnce(w, targets);
      assert.equal(r.requests.length, 0);
      assert.equal(w.hooks[0].lastError, webhookFailureText);
      assert.equal(w.hooks[0].cursor, 0, 'the events are kept for a later try');
      const log = w.lines.join('');
      assert.match(log, /refused: url host hooks.tenant.example cannot be used: webhooks must resolve to public Internet addresses only/);
      assert.ok(!log.includes(secret), 'the signing secret never reaches the log');

      // One inward answer among public ones is enough to refuse.
      dns.set('hooks.tenant.example', ['93.184.216.34', '::1']);
      const mixed = await targets.check(new URL(url));
      assert.equal(mixed.ok, false);
    } finally {
      await r.close();
    }
  });

  test('the connection goes to the address that was checked, with no second lookup', async () => {
    const r = await receiver();
    try {
      let lookups = 0;
      // A name no real DNS knows: only the pinned address can get the request there.
      const resolver: Resolver = async () => (lookups++, ['127.0.0.1']);
      const w = world([`http://hooks.tenant.example:${r.port}/events`]);
      await sendOnce(w, new WebhookTargets(loopback, { resolver }));
      assert.equal(r.requests.length, 1);
      assert.equal(r.requests[0].host, `hooks.tenant.example:${r.port}`);
      assert.equal(lookups, 1);
      assert.equal(w.hooks[0].cursor, 1);
      assert.equal(w.hooks[0].lastError, null);
    } finally {
      await r.close();
    }
  });

  test('401, redirect, closed port and timeout all read the same; the log tells them apart', async () => {
    const unauthorized = await receiver((_req, res) => res.writeHead(401).end('who are you'));
    const redirect = await receiver((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${unauthorized.port}/` }).end());
    const silent = await receiver(() => undefined);
    const closed = await receiver();
    await closed.close();
    try {
      const w = world([unauthorized, redirect, closed, silent].map((r) => `http://127.0.0.1:${r.port}/`));
      await sendOnce(w, new WebhookTargets(loopback), 300);
      assert.deepEqual(
        w.hooks.map((h) => h.lastError),
        Array(4).fill(webhookFailureText),
      );
      assert.equal(unauthorized.requests.length, 1, 'the redirect was not followed');
      const log = w.lines.join('');
      for (const detail of ['HTTP 401', 'HTTP 307', 'ECONNREFUSED', 'aborted']) assert.ok(log.includes(detail), detail);
    } finally {
      await Promise.all([unauthorized.close(), redirect.close(), silent.close()]);
    }
  });

  test('an endless response body is cut off, not read to the end', async () => {
    let closedAt = 0;
    const r = await receiver((req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (closedAt = Date.now()));
      pump();
    });
    try {
      const w = world([`http://127.0.0.1:${r.port}/`]);
      const started = Date.now();
      await sendOnce(w, new WebhookTargets(loopback), 30_000);
      assert.equal(w.hooks[0].lastError, null);
      const deadline = Date.now() + 5000;
      while (closedAt === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.ok(closedAt > 0 && closedAt - started < 5000, 'the connection was cut well before the timeout');
    } finally {
      await r.close();
    }
  });
});
