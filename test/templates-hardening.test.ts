import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Sink } from './helpers/sink.ts';
import { adminToken, eventually, startHarness, type Harness } from './helpers/harness.ts';

// Issue 7, items 1–3: a tenant's batch template neither reads the server's files nor
// takes the server down, and everyone else keeps being served meanwhile.
describe('templates without reach', () => {
  let h: Harness;
  let sink: Sink;
  let tenant: { apiKey: string };
  let good: { apiKey: string };
  let probes = 0;

  before(async () => {
    sink = await Sink.start();
    h = await startHarness();
    // As a server started without MAILSHIFT_ADMIN_TOKEN keeps it.
    writeFileSync(join(h.dataDir, 'admin-token'), adminToken + '\n');
    // The tenant's mail goes to the built-in capture server, as on the `local` infrastructure.
    tenant = await h.instance('tenant', [`127.0.0.1:${h.app.capturePort}`]);
    good = await h.instance('good', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  const batch = (body: Record<string, unknown>) =>
    h.api(tenant.apiKey, 'POST', '/api/v1/messages/batch', { from: 'news@tenant.example', subject: 'Hi', ...body });
  const recipients = (n: number) => Array.from({ length: n }, (_, i) => ({ to: `r${i}@example.com`, substitutions: { name: `R${i}` } }));

  /** Another instance is served promptly: /healthz answers and its message is delivered within 2 s. */
  async function othersServed(): Promise<void> {
    const started = Date.now();
    const health = await fetch(`${h.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    assert.equal(health.status, 200);
    const to = `probe${++probes}@good.example`;
    const sent = await h.api(good.apiKey, 'POST', '/api/v1/messages', { from: 'a@good.example', to: [to], subject: 'still here', text: 'hello' });
    assert.equal(sent.status, 202);
    await eventually(() => sink.messages.some((m) => m.recipients.includes(to)), 2000 - (Date.now() - started), `${to} delivered within 2 s`);
  }

  /** Runs the attack and, while it is in flight, checks that another instance is served. */
  async function meanwhile<T>(attack: Promise<T>): Promise<T> {
    const [result] = await Promise.all([attack, othersServed()]);
    return result;
  }

  test('no file is included: data/admin-token, absolute paths, ../, render and layout are refused', async () => {
    const token = join(h.dataDir, 'admin-token');
    const attacks = [
      '{% include "data/admin-token" %}',
      `{% include "${token}" %}`,
      `{% include "${relative(process.cwd(), token)}" %}`,
      `{% include "../../../../../../..${token}" %}`,
      "{% render '/etc/passwd' %}",
      `{% layout "${token}" %}x`,
      '{% liquid\n  include "/proc/self/environ"\n%}',
    ];
    for (const source of attacks) {
      for (const field of ['subject', 'text', 'html']) {
        const res = await batch({ text: 'x', [field]: source, recipients: recipients(1) });
        assert.equal(res.status, 400, `${field} ${source}`);
        assert.equal(res.body.code, 'template-error');
        assert.match(res.body.detail, /templates cannot include files/);
      }
    }
    const fine = await batch({ text: 'after the attempts', recipients: [{ to: 'check@example.com' }] });
    assert.equal(fine.status, 202);
    const captured = async () =>
      (await h.admin('GET', '/api/admin/v1/capture/messages?raw=true&limit=1000')).body.messages as { raw: string; recipients: string[] }[];
    await eventually(async () => (await captured()).some((m) => m.recipients.includes('check@example.com')), 10_000, 'the good batch captured');
    for (const m of await captured()) {
      assert.ok(!m.raw.includes(adminToken), 'the admin token reached no mail');
      assert.doesNotMatch(m.raw, /root:.*:0:0:/);
    }
  });

  test('the billion-step loop is refused with template-error while others are served', async () => {
    const started = Date.now();
    const attacks = Promise.all([
      batch({ text: '{% for i in (1..1000000000) %}x{% endfor %}', recipients: recipients(10) }),
      batch({ html: '{% for i in (1..30000000) %}{{ i }}{% endfor %}', recipients: recipients(10) }),
      // Cheap on memory, long on time: stopped by the render-time limit.
      batch({
        text: '{% for i in (1..3000) %}{% for j in (1..3000) %}{% for k in (1..3000) %}{% endfor %}{% endfor %}{% endfor %}',
        recipients: recipients(10),
      }),
    ]);
    const results = await meanwhile(attacks);
    for (const res of results) {
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'template-error');
      assert.match(res.body.detail, /limit/);
    }
    assert.ok(Date.now() - started < 10_000, 'refused within 10 s');
    await othersServed();
  });

  test('2 MB × 10,000 recipients is refused with template-error naming the limit; the server stays responsive', async () => {
    const twoMb = 'x'.repeat(2 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const [plain, behindTag] = await meanwhile(
      Promise.all([
        batch({ text: twoMb, recipients: recipients(10_000) }),
        // Output inside a tag is only known as it renders: refused once the cap is passed.
        batch({ text: `{% if true %}${twoMb}{% endif %}`, recipients: recipients(10_000) }),
      ]),
    );
    for (const res of [plain, behindTag]) {
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'template-error');
      assert.match(res.body.detail, /67108864 bytes \(MAILSHIFT_BATCH_MAX_BYTES\)/);
    }
    assert.match(behindTag.body.detail, /^recipients\[(\d|[1-3]\d)\]\./, 'refused at the recipient that passed the cap, not after all 10,000');
    assert.ok(Date.now() - started < 20_000, 'refused within 20 s');
    const grew = process.memoryUsage().rss - rssBefore;
    assert.ok(grew < 1024 * 1024 * 1024, `RSS grew by ${Math.round(grew / 1048576)} MB`);
    await othersServed();
  });

  test('a normal batch of 1,000 recipients with substitutions is accepted and delivered, HTML escaped', async () => {
    const list = Array.from({ length: 1000 }, (_, i) => ({ to: `n${i}@batch.example`, substitutions: { name: i === 7 ? '<b>Seven</b>' : `N${i}`, n: i } }));
    const body = {
      from: 'news@good.example',
      subject: 'Hello {{ name }}',
      text: 'Hi {{ name }}, number {{ n | plus: 1 }}',
      html: '<p>Hi {{ name }}</p>',
      recipients: list,
    };
    const res = await h.api(good.apiKey, 'POST', '/api/v1/messages/batch', body, { 'idempotency-key': 'batch-1000' });
    assert.equal(res.status, 202);
    assert.equal(res.body.accepted, 1000);
    const again = await h.api(good.apiKey, 'POST', '/api/v1/messages/batch', body, { 'idempotency-key': 'batch-1000' });
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body.messages, res.body.messages);
    await eventually(() => sink.messages.filter((m) => m.recipients[0].endsWith('@batch.example')).length >= 1000, 60_000, '1,000 deliveries');
    assert.equal(sink.messages.filter((m) => m.recipients[0].endsWith('@batch.example')).length, 1000, 'each once');
    const n999 = sink.messages.find((m) => m.recipients[0] === 'n999@batch.example')!;
    assert.match(n999.raw, /^Subject: Hello N999$/m);
    assert.match(n999.raw, /Hi N999, number 1000/);
    const n7 = sink.messages.find((m) => m.recipients[0] === 'n7@batch.example')!;
    assert.match(n7.raw, /<p>Hi &lt;b&gt;Seven&lt;\/b&gt;<\/p>/);
  });
});

// The review's case: concurrent batches used to compose outside the memory budget.
describe('batches draw on the shared memory budget', () => {
  let h: Harness;
  let sink: Sink;
  let tenant: { apiKey: string };
  let good: { apiKey: string };
  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_MAX_INFLIGHT_BYTES: String(4 * 1024 * 1024) });
    tenant = await h.instance('tenant', [sink.relay]);
    good = await h.instance('good', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  const text = 'x'.repeat(6000);
  const batch = (n: number, tag: string) =>
    h.api(tenant.apiKey, 'POST', '/api/v1/messages/batch', {
      from: 'news@tenant.example',
      subject: tag,
      text,
      recipients: Array.from({ length: n }, (_, i) => ({ to: `${tag}${i}@example.com` })),
    });

  test('a batch whose composed mail passes the budget is 503 server-busy with Retry-After, nothing accepted, the budget given back', async () => {
    const res = await batch(1000, 'big');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'server-busy');
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal(h.app.services.inflight.inUse, 0);
    const queued = (await h.admin('GET', '/api/admin/v1/queue')).body.instances?.tenant ?? {};
    assert.equal(
      Object.values(queued as Record<string, number>).reduce((a, b) => a + b, 0),
      0,
      'nothing of it is in the spool',
    );
    const small = await batch(50, 'small');
    assert.equal(small.status, 202);
    const other = await h.api(good.apiKey, 'POST', '/api/v1/messages', { from: 'a@good.example', to: ['someone@good.example'], subject: 's', text: 't' });
    assert.equal(other.status, 202);
    await eventually(() => sink.messages.some((m) => m.recipients.includes('someone@good.example')), 5000, 'the other instance’s message');
  });

  test('an instance has at most two batches in progress; a third is 409 limit-reached', async () => {
    const answers = await Promise.all([batch(300, 'p'), batch(300, 'q'), batch(300, 'r')]);
    const codes = answers.map((a) => a.status).sort();
    assert.ok(codes.includes(409), `one of three concurrent batches is refused: ${codes.join(', ')}`);
    assert.equal(answers.find((a) => a.status === 409)!.body.code, 'limit-reached');
    assert.equal(h.app.services.inflight.inUse, 0);
  });
});
