import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { generateKeyPairSync, createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { idleKeepMs } from '../src/engine/destination-queue.ts';
import { Sink } from './helpers/sink.ts';
import { adminToken, eventually, smtpClient, startHarness, type Harness } from './helpers/harness.ts';

// Retries within the test's time: 300 ms, then doubling.
const fastRetry = JSON.stringify({ initialDelayMs: 300, factor: 2, maxDelayMs: 2000, maxAgeMs: 60_000 });

describe('delivery', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ MAILSHIFT_RETRY: fastRetry });
  });
  after(() => h.close());

  test('a deferral is retried and then delivered', async () => {
    const sink = await Sink.start((rcpt, attempt) => (attempt === 1 ? { code: 451, message: '4.3.0 Try again later' } : undefined));
    try {
      const creds = await h.instance('deferring', [sink.relay]);
      const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['later@example.com'], subject: 's', text: 't' });
      await sink.waitFor(1, 10_000);
      assert.equal(sink.attempts.get('later@example.com'), 2);
      await eventually(async () => (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${res.body.id}`)).body.deliveries[0].state === 'delivered');
      const view = await h.api(creds.apiKey, 'GET', `/api/v1/messages/${res.body.id}`);
      assert.deepEqual(
        view.body.events.map((e: { type: string }) => e.type),
        ['accepted', 'deferred', 'delivered'],
      );
      assert.equal(view.body.deliveries[0].attempts, 2);
      assert.match(view.body.events[1].detail.reply, /451 4\.3\.0/);
    } finally {
      await sink.close();
    }
  });

  test('a hard bounce suppresses the address; later mail to it is not attempted', async () => {
    const sink = await Sink.start((rcpt) => (rcpt === 'gone@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined));
    try {
      const creds = await h.instance('bouncing', [sink.relay]);
      const first = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['gone@example.com'], subject: 's', text: 't' });
      await eventually(async () => (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${first.body.id}`)).body.deliveries[0].state === 'bounced');
      const view = await h.api(creds.apiKey, 'GET', `/api/v1/messages/${first.body.id}`);
      assert.equal(view.body.deliveries[0].lastCategory, 'unknown-user');
      const list = await h.api(creds.apiKey, 'GET', '/api/v1/suppressions');
      assert.deepEqual(
        list.body.suppressions.map((s: { address: string }) => s.address),
        ['gone@example.com'],
      );

      const second = await h.api(creds.apiKey, 'POST', '/api/v1/messages', {
        from: 'a@shop.example',
        to: ['Gone@example.com', 'here@example.com'],
        subject: 's',
        text: 't',
      });
      assert.deepEqual(second.body.suppressed, ['Gone@example.com']);
      await sink.waitFor(1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.attempts.get('gone@example.com'), 1, 'the suppressed address was not attempted again');
      const events = (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${second.body.id}`)).body.events.map((e: { type: string }) => e.type);
      assert.ok(events.includes('suppressed'));

      // Through SMTP too, where the look-up is left to the commit.
      const client = smtpClient(h.app.smtpPort, creds.smtp, true);
      const info = await client.sendMail({ from: 'a@shop.example', to: ['GONE@example.com', 'there@example.com'], subject: 's', text: 't' });
      client.close();
      const smtpId = /queued as (\S+)/.exec(info.response)![1];
      const viaSmtp = (await h.api(creds.apiKey, 'GET', `/api/v1/messages/${smtpId}`)).body;
      assert.deepEqual(
        viaSmtp.deliveries.map((d: { recipient: string; state: string }) => [d.recipient, d.state === 'suppressed']),
        [
          ['GONE@example.com', true],
          ['there@example.com', false],
        ],
      );
      await sink.waitFor(2);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.attempts.get('gone@example.com'), 1, 'nor through SMTP');

      // Removing it from the list lets mail through again.
      assert.equal((await h.api(creds.apiKey, 'DELETE', '/api/v1/suppressions/gone%40example.com')).status, 204);
      assert.equal((await h.api(creds.apiKey, 'GET', '/api/v1/suppressions')).body.suppressions.length, 0);
    } finally {
      await sink.close();
    }
  });

  test('suspend holds 100 messages without an attempt; resume releases them all', async () => {
    const sink = await Sink.start();
    try {
      const creds = await h.instance('held', [sink.relay]);
      assert.equal((await h.admin('POST', '/api/admin/v1/instances/held/suspend', { reason: 'test' })).status, 200);
      const client = smtpClient(h.app.smtpPort, creds.smtp, true);
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => client.sendMail({ from: 'a@shop.example', to: `r${i}@example.com`, subject: `n${i}`, text: 'held' })),
      );
      client.close();
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(sink.messages.length, 0, 'nothing leaves a suspended instance');
      const queue = await h.admin('GET', '/api/admin/v1/queue');
      assert.equal(queue.body.instances.held.scheduled, 100);
      assert.equal(sink.connections, 0, 'no attempt was even started');

      const resumed = await h.admin('POST', '/api/admin/v1/instances/held/resume', {});
      assert.equal(resumed.body.released, 100);
      assert.ok(resumed.body.heldMs >= 700);
      await sink.waitFor(100, 15_000);
      assert.equal(new Set(sink.messages.map((m) => m.recipients[0])).size, 100);
      const after = await h.admin('GET', '/api/admin/v1/queue');
      await eventually(async () => (await h.admin('GET', '/api/admin/v1/queue')).body.instances.held.delivered === 100);
      assert.equal(after.body.instances.held.bounced, 0);
    } finally {
      await sink.close();
    }
  });

  test('traffic shaping caps concurrent connections and messages per connection', async () => {
    const sink = await Sink.start();
    try {
      const creds = await h.instance('shaped', [sink.relay], {
        infrastructure: { shaping: [{ domain: 'example.com', maxConnections: 2, maxMessagesPerConnection: 5 }] },
      });
      const batch = await h.api(creds.apiKey, 'POST', '/api/v1/messages/batch', {
        from: 'a@shop.example',
        subject: 'hi',
        text: 'x',
        recipients: Array.from({ length: 40 }, (_, i) => ({ to: `s${i}@example.com` })),
      });
      assert.equal(batch.status, 202);
      await sink.waitFor(40);
      assert.ok(sink.maxConcurrent <= 2, `at most 2 concurrent sessions, saw ${sink.maxConcurrent}`);
      assert.ok(sink.connections >= 8, `at most 5 messages per session means at least 8 sessions, saw ${sink.connections}`);
    } finally {
      await sink.close();
    }
  });

  test('mail that trickles in leaves over one kept connection; it is closed once idle', async () => {
    const sink = await Sink.start();
    try {
      const creds = await h.instance('trickle', [sink.relay]);
      const send = (i: number) =>
        h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: [`t${i}@example.com`], subject: `t${i}`, text: 'x' });
      for (let i = 0; i < 4; i++) {
        assert.equal((await send(i)).status, 202);
        await sink.waitFor(i + 1);
        // Less than the keep time (1 s) between messages: the queue runs empty each time.
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(sink.connections, 1, `one connection for four messages sent 200 ms apart, saw ${sink.connections}`);
      // Past the keep time the connection is closed, and the next message opens another.
      await new Promise((r) => setTimeout(r, idleKeepMs + 500));
      assert.equal((await send(4)).status, 202);
      await sink.waitFor(5);
      assert.equal(sink.connections, 2);
      assert.ok(sink.maxConcurrent <= 1, `one session at a time, saw ${sink.maxConcurrent}`);
    } finally {
      await sink.close();
    }
  });

  test('a rate limit spaces deliveries out', async () => {
    const sink = await Sink.start();
    try {
      const creds = await h.instance('rated', [sink.relay], {
        infrastructure: { shaping: [{ domain: '*', maxConnections: 5, maxMessagesPerConnection: 100, rate: '10/s' }] },
      });
      const started = Date.now();
      await h.api(creds.apiKey, 'POST', '/api/v1/messages/batch', {
        from: 'a@shop.example',
        subject: 'r',
        text: 'x',
        recipients: Array.from({ length: 25 }, (_, i) => ({ to: `q${i}@rate.example` })),
      });
      await sink.waitFor(25, 15_000);
      // A full bucket of 10 goes at once, the other 15 at 10/s: at least 1.4 s.
      assert.ok(Date.now() - started >= 1400, `25 messages at 10/s took ${Date.now() - started} ms`);
    } finally {
      await sink.close();
    }
  });

  test("DKIM-signs with the infrastructure's key mail from a verified domain of the customer", async () => {
    const sink = await Sink.start();
    try {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const creds = await h.instance('signed', [sink.relay], { infrastructure: { dkim: [{ domain: 'shop.example', selector: 's1', privateKey: pem }] } });
      const { customers } = (await h.admin('GET', '/api/admin/v1/customers')).body as { customers: { name: string }[] };
      const customer = customers.find((c) => c.name.endsWith('-signed'))!.name;
      assert.equal((await h.admin('POST', '/api/admin/v1/domains', { domain: 'shop.example', customer, verified: true })).status, 201);
      await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'news@shop.example', to: ['dk@example.com'], subject: 'signed', text: 'x' });
      await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'news@other.example', to: ['nodk@example.com'], subject: 'unsigned', text: 'x' });
      await sink.waitFor(2);
      const signed = sink.messages.find((m) => m.recipients[0] === 'dk@example.com')!;
      const unsigned = sink.messages.find((m) => m.recipients[0] === 'nodk@example.com')!;
      assert.match(signed.raw, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example;/m);
      assert.match(signed.raw, /s=s1;/);
      assert.doesNotMatch(unsigned.raw, /DKIM-Signature/);
    } finally {
      await sink.close();
    }
  });

  test('webhooks receive signed events and never block delivery', async () => {
    const sink = await Sink.start();
    const received: { body: string; signature: string }[] = [];
    let failFirst = true;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // The first call fails: the batch must come again.
        if (failFirst) {
          failFirst = false;
          res.writeHead(500).end();
          return;
        }
        received.push({ body, signature: String(req.headers['mailshift-signature']) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const creds = await h.instance('hooked', [sink.relay]);
      const hook = await h.api(creds.apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` });
      assert.equal(hook.status, 201);
      const sent = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['w@example.com'], subject: 's', text: 't' });
      await sink.waitFor(1);
      await eventually(() => received.some((r) => r.body.includes('"delivered"')), 20_000, 'the delivered event');
      const types = received.flatMap((r) => JSON.parse(r.body).events.map((e: { type: string; messageId: string }) => `${e.type}:${e.messageId}`));
      assert.ok(types.includes(`accepted:${sent.body.id}`));
      assert.ok(types.includes(`delivered:${sent.body.id}`));
      for (const r of received) {
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.signature);
        assert.ok(m, `signature header ${r.signature}`);
        const expected = createHmac('sha256', hook.body.secret).update(`${m[1]}.${r.body}`).digest('hex');
        assert.equal(m[2], expected);
      }
    } finally {
      server.close();
      await sink.close();
    }
  });

  test('metrics count outcomes per instance and infrastructure; healthz answers', async () => {
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200);
    const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text();
    // Every series also names the node; labels are matched in any order.
    const series = (name: string, labels: string[], value: string) =>
      new RegExp(`^${name}\\{${labels.map((l) => `(?=[^}]*${l})`).join('')}[^}]*node="[^"]+"[^}]*\\} ${value}$`, 'm');
    assert.match(text, series('mailshift_deliveries_total', ['instance="held"', 'infrastructure="infra-held"', 'outcome="delivered"'], '100'));
    assert.match(text, series('mailshift_messages_accepted_total', ['instance="held"', 'infrastructure="infra-held"', 'via="smtp"'], '100'));
    assert.match(text, series('mailshift_queue_depth', ['state="delivered"'], '\\d+'));
    assert.match(text, series('mailshift_delivery_latency_seconds_count', ['infrastructure="infra-held"'], '100'));
  });
});
