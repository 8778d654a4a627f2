import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sink } from './helpers/sink.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { webhookFailureText } from '../src/engine/webhook-sender.ts';

/** An HTTP endpoint on loopback that records what it is sent and answers with `handler`. */
class Receiver {
  readonly requests: { url: string; host: string; body: string; signature: string }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(204).end()): Promise<Receiver> {
    let receiver: Receiver;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        receiver.requests.push({ url: req.url ?? '', host: String(req.headers.host), body, signature: String(req.headers['mailshift-signature']) });
        handler(req, res);
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const message = (subject: string) => ({ from: 'news@shop.example', to: ['reader@example.com'], subject, text: 'hello' });

describe('webhooks cannot be aimed inward', () => {
  let prod: Harness;
  let h: Harness;
  let sink: Sink;
  const bystanders = new Map<Harness, string>();
  let sent = 0;

  before(async () => {
    sink = await Sink.start();
    // Production behaviour: no reserved network allowed for webhooks.
    prod = await startHarness({ MAILSHIFT_WEBHOOK_ALLOW_NETWORKS: '' });
    // The test harness default: loopback allowed, so receivers can listen there.
    h = await startHarness();
    for (const harness of [prod, h]) bystanders.set(harness, (await harness.instance('bystander', [sink.relay])).apiKey);
  });
  after(async () => {
    await Promise.all([prod.close(), h.close()]);
    await sink.close();
  });

  /** Another instance's message still leaves promptly. */
  async function bystanderDelivers(harness: Harness): Promise<void> {
    const subject = `bystander ${++sent}`;
    const res = await harness.api(bystanders.get(harness)!, 'POST', '/api/v1/messages', message(subject));
    assert.equal(res.status, 202);
    await eventually(() => sink.messages.some((m) => m.raw.includes(`Subject: ${subject}`)), 10_000, 'the bystander message');
  }

  test('loopback, private, link-local and disguised addresses are refused at creation', async () => {
    const receiver = await Receiver.start();
    try {
      const { apiKey } = await prod.instance('aims-inward', [sink.relay]);
      const inward = [
        `http://127.0.0.1:${receiver.port}/`,
        `http://localhost:${receiver.port}/`,
        'http://0.0.0.0/',
        'http://0/',
        'http://2130706433/',
        'http://0x7f000001/',
        'http://127.1/',
        'http://[::1]/',
        'http://[::]/',
        'http://[::ffff:127.0.0.1]/',
        'http://[64:ff9b::7f00:1]/',
        'http://[::ffff:a9fe:a9fe]/',
        'http://10.0.0.1/',
        'http://192.168.1.1/',
        'http://169.254.169.254/latest/meta-data/',
        'https://[fe80::1]/',
        'http://[::ffff:0:7f00:1]/',
        'http://[64:ff9b:1::7f00:1]/',
      ];
      for (const url of inward) {
        const res = await prod.api(apiKey, 'POST', '/api/v1/webhooks', { url });
        assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'invalid-request');
        assert.match(res.body.detail, /cannot be used: webhooks must resolve to public Internet addresses only/, url);
      }
      const malformed: [string, RegExp][] = [
        ['http://user:pass@hooks.example.com/', /credentials/],
        ['ftp://hooks.example.com/', /http or https/],
        ['file:///etc/passwd', /http or https/],
        ['http://hooks.example.com/a b', /spaces or control/],
      ];
      for (const [url, why] of malformed) {
        const res = await prod.api(apiKey, 'POST', '/api/v1/webhooks', { url });
        assert.equal(res.status, 400, url);
        assert.equal(res.body.code, 'invalid-request');
        assert.match(res.body.detail, why, url);
      }
      // Operators' route refuses alike: the allow list is the operator's way in.
      const admin = await prod.admin('POST', '/api/admin/v1/instances/aims-inward/webhooks', { url: 'http://127.0.0.1:9/' });
      assert.equal(admin.status, 400);
      assert.equal((await prod.api(apiKey, 'GET', '/api/v1/webhooks')).body.webhooks.length, 0);
      assert.equal(receiver.requests.length, 0);

      // A public address is fine (an IP literal: no DNS needed here); nothing is sent to it without events.
      const outward = await prod.api(apiKey, 'POST', '/api/v1/webhooks', { url: 'http://93.184.216.34/hooks#frag' });
      assert.equal(outward.status, 201);
      assert.equal(outward.body.url, 'http://93.184.216.34/hooks');
      assert.equal((await prod.api(apiKey, 'DELETE', `/api/v1/webhooks/${outward.body.id}`)).status, 204);
      await bystanderDelivers(prod);
    } finally {
      await receiver.close();
    }
  });

  test('a redirect is not followed: the second receiver gets nothing', async () => {
    const second = await Receiver.start();
    const first = await Receiver.start((_req, res) => res.writeHead(307, { location: second.url }).end());
    try {
      const { apiKey } = await h.instance('redirected', [sink.relay]);
      assert.equal((await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: first.url })).status, 201);
      await h.api(apiKey, 'POST', '/api/v1/messages', message('redirect me'));
      await eventually(async () => (await h.api(apiKey, 'GET', '/api/v1/webhooks')).body.webhooks[0].lastError !== null, 10_000, 'the failed post');
      const [hook] = (await h.api(apiKey, 'GET', '/api/v1/webhooks')).body.webhooks;
      assert.equal(hook.lastError, webhookFailureText);
      assert.ok(first.requests.length >= 1);
      assert.equal(second.requests.length, 0);
      await bystanderDelivers(h);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test('an endpoint answering 401 and a closed port read the same to the tenant', async () => {
    const refusing = await Receiver.start((_req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end('HTTP 401: internal admin console'));
    try {
      const { apiKey } = await h.instance('port-scanner', [sink.relay]);
      assert.equal((await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: refusing.url })).status, 201);
      assert.equal((await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${await closedPort()}/` })).status, 201);
      await h.api(apiKey, 'POST', '/api/v1/messages', message('scan'));
      const errors = async () => ((await h.api(apiKey, 'GET', '/api/v1/webhooks')).body.webhooks as { lastError: string | null }[]).map((w) => w.lastError);
      await eventually(async () => (await errors()).every((e) => e !== null), 10_000, 'both posts to fail');
      const [unauthorized, closed] = await errors();
      assert.equal(unauthorized, closed);
      assert.equal(unauthorized, webhookFailureText);
      assert.doesNotMatch(unauthorized!, /401|ECONNREFUSED|refused|fetch|timeout/i);
      assert.ok(refusing.requests.length >= 1);
      await bystanderDelivers(h);
    } finally {
      await refusing.close();
    }
  });

  test('the 11th webhook of an instance is refused with limit-reached, also when created at once', async () => {
    const port = await closedPort();
    const { apiKey } = await h.instance('many-hooks', [sink.relay]);
    const ids: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const res = await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}/${i}` });
      assert.equal(res.status, 201);
      ids.push(res.body.id);
    }
    const eleventh = await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}/11` });
    assert.equal(eleventh.status, 409);
    assert.equal(eleventh.body.code, 'limit-reached');
    assert.match(eleventh.body.detail, /at most 10 webhooks/);
    // Deleting one makes room for one.
    assert.equal((await h.api(apiKey, 'DELETE', `/api/v1/webhooks/${ids[0]}`)).status, 204);
    assert.equal((await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}/again` })).status, 201);
    assert.equal((await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}/more` })).status, 409);

    // 25 creates at once on another instance: exactly 10 get in.
    const other = await h.instance('racing-hooks', [sink.relay]);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => h.api(other.apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${port}/race/${i}` })),
    );
    assert.equal(results.filter((r) => r.status === 201).length, 10);
    assert.ok(results.every((r) => r.status === 201 || r.body.code === 'limit-reached'));
    assert.equal((await h.api(other.apiKey, 'GET', '/api/v1/webhooks')).body.webhooks.length, 10);
    await bystanderDelivers(h);
  });

  test('with loopback allowed, a normal webhook still receives signed events', async () => {
    const receiver = await Receiver.start();
    try {
      const { apiKey } = await h.instance('well-hooked', [sink.relay]);
      const hook = await h.api(apiKey, 'POST', '/api/v1/webhooks', { url: receiver.url });
      assert.equal(hook.status, 201);
      const sent = await h.api(apiKey, 'POST', '/api/v1/messages', message('signed'));
      await eventually(() => receiver.requests.some((r) => r.body.includes(`"delivered"`)), 15_000, 'the delivered event');
      const types = receiver.requests.flatMap((r) => JSON.parse(r.body).events.map((e: { type: string; messageId: string }) => `${e.type}:${e.messageId}`));
      assert.ok(types.includes(`accepted:${sent.body.id}`));
      assert.ok(types.includes(`delivered:${sent.body.id}`));
      for (const r of receiver.requests) {
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.signature);
        assert.ok(m, r.signature);
        assert.equal(m[2], createHmac('sha256', hook.body.secret).update(`${m[1]}.${r.body}`).digest('hex'));
      }
      assert.equal((await h.api(apiKey, 'GET', '/api/v1/webhooks')).body.webhooks[0].lastError, null);
      await bystanderDelivers(h);
    } finally {
      await receiver.close();
    }
  });
});
