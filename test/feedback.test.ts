import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { Sink } from './helpers/sink.ts';
import { testDatabases, type TestDatabase } from './helpers/databases.ts';

const bounceDomain = 'bounces.example.net';
const verpShape = /^b-[0-9a-z]{1,11}-[0-9a-v]{13}@bounces\.example\.net$/;
const fixture = (name: string) => readFileSync(new URL(`./fixtures/feedback/${name}`, import.meta.url), 'utf8');
/** A report as the provider would send it about our delivery: the fixture's VERP addresses replaced by the delivery's own. */
const about = (name: string, verp: string) => fixture(name).replace(/b-[0-9a-z]+-[0-9a-v]{13}@bounces\.example\.net/g, verp);

/** A pooled client to the feedback listener, as a receiving MTA returning reports would connect. */
function reporter(port: number) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 2, maxMessages: Infinity } as Parameters<
    typeof nodemailer.createTransport
  >[0]);
}

for (const database of testDatabases()) {
  describe(`feedback from mailbox providers (${database.name})`, { skip: database.skip }, () => {
    let db: TestDatabase;
    let h: Harness;
    let sink: Sink;
    let key: string;
    let loudKey: string;
    let feedback: ReturnType<typeof reporter>;
    let hooks: Server;
    const hooked: { type: string; messageId: string; recipient: string | null; detail: Record<string, unknown> }[] = [];

    before(async () => {
      db = await database.create();
      sink = await Sink.start();
      h = await startHarness({
        ...db.env,
        MAILSHIFT_PUBLIC_URL: 'https://mail.example.net',
        MAILSHIFT_COMPLAINT_MIN_DELIVERIES: '10',
      });
      const infrastructure = { bounceDomain };
      key = (await h.instance('fb', [sink.relay], { infrastructure, instance: { listUnsubscribe: true } })).apiKey;
      loudKey = (await h.instance('loud', [sink.relay], { infrastructure: { bounceDomain: 'fbl.example.org' } })).apiKey;
      feedback = reporter(h.app.feedbackPort);
      // The instance's webhook hears of feedback like of any other event.
      hooks = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          hooked.push(...JSON.parse(body).events);
          res.end();
        });
      });
      await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
      const hook = await h.api(key, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/events` });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
    });
    after(async () => {
      feedback?.close();
      hooks?.close();
      await h?.close();
      await sink?.close();
      await db?.drop();
    });

    /** Sends one message and waits until the sink has it; returns its id and what the sink received. */
    async function send(apiKey: string, to: string, extra: Record<string, unknown> = {}) {
      const before = sink.messages.length;
      const res = await h.api(apiKey, 'POST', '/api/v1/messages', { from: 'News <news@acme.example>', to: [to], subject: 'Hello', text: 'Hi', ...extra });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      await eventually(() => sink.messages.slice(before).some((m) => m.recipients.includes(to)), 15_000, `the sink to receive mail for ${to}`);
      const received = sink.messages.slice(before).find((m) => m.recipients.includes(to))!;
      await eventually(async () => (await h.api(apiKey, 'GET', `/api/v1/messages/${res.body.id}`)).body.deliveries[0].state === 'delivered');
      return { id: res.body.id as string, received };
    }

    const message = async (apiKey: string, id: string) => (await h.api(apiKey, 'GET', `/api/v1/messages/${id}`)).body;
    const suppressions = async (apiKey: string) =>
      (await h.api(apiKey, 'GET', '/api/v1/suppressions')).body.suppressions as { address: string; reason: string }[];

    test('each delivery leaves with its own signed VERP return path at the bounce domain; the header From is untouched', async () => {
      const a = await send(key, 'first@example.org');
      const b = await send(key, 'second@example.org');
      for (const m of [a.received, b.received]) {
        assert.match(m.mailFrom, verpShape);
        assert.ok(m.mailFrom.indexOf('@') <= 64);
        assert.match(m.raw, /^From: News <news@acme\.example>$/m);
      }
      assert.notEqual(a.received.mailFrom, b.received.mailFrom);
    });

    test('DSNs built as Postfix, Exchange and Gmail build them turn delivered deliveries into bounced (async) and suppress the address', async () => {
      const cases = [
        ['postfix-dsn.eml', 'jane.doe@example.org'],
        ['exchange-ndr.eml', 'john.smith@contoso.example'],
        ['gmail-dsn.eml', 'no.such.user@gmail.com'],
      ] as const;
      for (const [file, recipient] of cases) {
        const { id, received } = await send(key, recipient);
        const info = await feedback.sendMail({ envelope: { from: '', to: [received.mailFrom] }, raw: about(file, received.mailFrom) });
        assert.match(info.response, /^250 /);
        const m = await message(key, id);
        assert.equal(m.deliveries[0].state, 'bounced', file);
        const bounced = m.events.find((e: { type: string }) => e.type === 'bounced');
        assert.ok(bounced, `${file}: a bounced event`);
        assert.equal(bounced.detail.async, true);
        assert.equal(bounced.detail.category, 'unknown-user');
        assert.equal(bounced.recipient, recipient);
        const suppressed = (await suppressions(key)).find((s) => s.address === recipient);
        assert.ok(suppressed, `${file}: ${recipient} suppressed`);
        assert.match(suppressed.reason, /^bounce: unknown-user/);
      }
      // The next message to a bounced address is not sent.
      const next = await h.api(key, 'POST', '/api/v1/messages', { from: 'news@acme.example', to: ['jane.doe@example.org'], subject: 'Again', text: 'x' });
      assert.deepEqual(next.body.suppressed, ['jane.doe@example.org']);
    });

    test('a delayed DSN and an out-of-office change nothing', async () => {
      const { id, received } = await send(key, 'slow@example.org');
      for (const file of ['postfix-delayed-dsn.eml', 'out-of-office.eml']) {
        const info = await feedback.sendMail({ envelope: { from: '', to: [received.mailFrom] }, raw: about(file, received.mailFrom) });
        assert.match(info.response, /^250 /);
      }
      assert.equal((await message(key, id)).deliveries[0].state, 'delivered');
      assert.ok(!(await suppressions(key)).some((s) => s.address === 'slow@example.org'));
    });

    test('an ARF complaint to the complaint mailbox records complained and suppresses the recipient', async () => {
      const { id, received } = await send(key, 'sam.reader@yahoo.example');
      const info = await feedback.sendMail({
        envelope: { from: 'feedback@arf.mail.yahoo.com', to: [`fbl@${bounceDomain}`] },
        raw: about('yahoo-arf.eml', received.mailFrom),
      });
      assert.match(info.response, /^250 /);
      const m = await message(key, id);
      const complained = m.events.find((e: { type: string }) => e.type === 'complained');
      assert.ok(complained, 'a complained event');
      assert.equal(complained.recipient, 'sam.reader@yahoo.example');
      assert.equal(complained.detail.feedbackType, 'abuse');
      assert.equal(m.deliveries[0].state, 'delivered');
      assert.match((await suppressions(key)).find((s) => s.address === 'sam.reader@yahoo.example')?.reason ?? '', /^complaint: abuse/);
      // The same report again counts once.
      await feedback.sendMail({
        envelope: { from: 'feedback@arf.mail.yahoo.com', to: [`fbl@${bounceDomain}`] },
        raw: about('yahoo-arf.eml', received.mailFrom),
      });
      assert.equal((await message(key, id)).events.filter((e: { type: string }) => e.type === 'complained').length, 1);
    });

    test('mail for an address that is not ours is refused at RCPT with 550 5.1.1', async () => {
      const { received } = await send(key, 'probe@example.org');
      const forged = received.mailFrom.replace(/-([0-9a-v])/, (_m, c: string) => `-${c === '0' ? '1' : '0'}`);
      const client = nodemailer.createTransport({ host: '127.0.0.1', port: h.app.feedbackPort, ignoreTLS: true } as Parameters<
        typeof nodemailer.createTransport
      >[0]);
      for (const to of [`postmaster@${bounceDomain}`, forged, 'someone@elsewhere.example', received.mailFrom.replace(bounceDomain, 'other.example')]) {
        await assert.rejects(
          client.sendMail({ envelope: { from: '', to: [to] }, raw: fixture('postfix-dsn.eml') }),
          (err: { responseCode?: number; response?: string }) => {
            assert.equal(err.responseCode, 550, to);
            assert.match(err.response ?? '', /5\.1\.1/);
            return true;
          },
        );
      }
      client.close();
    });

    test('one-click unsubscribe: List-Unsubscribe and List-Unsubscribe-Post on each delivery; a POST suppresses at once and the next message is not sent', async () => {
      const recipient = 'reader@example.org';
      const { id, received } = await send(key, recipient);
      const header = /^List-Unsubscribe: <(https:\/\/mail\.example\.net\/u\/([^>]+))>, <mailto:(u-[^?>]+)\?subject=unsubscribe>$/m.exec(received.raw);
      assert.ok(header, received.raw.slice(0, 600));
      assert.match(received.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      assert.ok(header[3].endsWith(`@${bounceDomain}`));
      const path = new URL(header[1]).pathname;

      // The page only asks; it changes nothing.
      const page = await fetch(h.url + path, { headers: { 'accept-language': 'es-ES,es;q=0.9' } });
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /Darse de baja/);
      assert.match(html, /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
      assert.ok(!(await suppressions(key)).some((s) => s.address === recipient));
      assert.match(await (await fetch(`${h.url}${path}?lang=en`)).text(), /Stop sending these emails to <strong>reader@example\.org<\/strong>/);

      // RFC 8058: no cookie, no auth, the one-click body.
      const post = await fetch(h.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      assert.equal(post.status, 200);
      assert.match((await suppressions(key)).find((s) => s.address === recipient)?.reason ?? '', /^unsubscribed: one-click/);
      const events = (await message(key, id)).events.filter((e: { type: string }) => e.type === 'unsubscribed');
      assert.equal(events.length, 1);
      assert.equal(events[0].recipient, recipient);
      assert.equal(
        (await fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' }))
          .status,
        200,
      );

      const sent = sink.messages.length;
      const next = await h.api(key, 'POST', '/api/v1/messages', { from: 'news@acme.example', to: [recipient], subject: 'Again', text: 'x' });
      assert.deepEqual(next.body.suppressed, [recipient]);
      assert.equal((await message(key, next.body.id)).deliveries[0].state, 'suppressed');
      assert.equal(sink.messages.length, sent);

      // A link that is not ours, or a POST without the one-click body.
      assert.equal(
        (
          await fetch(`${h.url}/u/${path.slice(3, -2)}xx`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'List-Unsubscribe=One-Click',
          })
        ).status,
        404,
      );
      assert.equal((await fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' })).status, 400);
    });

    test('the mailto form of List-Unsubscribe works through the feedback listener', async () => {
      const recipient = 'mailer@example.org';
      const { id, received } = await send(key, recipient);
      const mailto = /<mailto:(u-[^?>]+)\?subject=unsubscribe>/.exec(received.raw)![1];
      // A bounce that lands on the address asks nothing.
      await feedback.sendMail({ envelope: { from: '', to: [mailto] }, raw: fixture('postfix-dsn.eml') });
      assert.ok(!(await suppressions(key)).some((s) => s.address === recipient));
      await feedback.sendMail({
        envelope: { from: recipient, to: [mailto] },
        raw: `From: ${recipient}\r\nTo: ${mailto}\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n`,
      });
      assert.equal((await message(key, id)).events.filter((e: { type: string }) => e.type === 'unsubscribed')[0]?.detail.via, 'mailto');
      assert.match((await suppressions(key)).find((s) => s.address === recipient)?.reason ?? '', /^unsubscribed: mailto/);
    });

    test('a tenant\u2019s own List-Unsubscribe is kept; only what is missing is added; an API message may ask for it', async () => {
      const own = await send(key, 'own@example.org', { headers: { 'List-Unsubscribe': '<https://acme.example/unsub/1>' } });
      assert.match(own.received.raw, /^List-Unsubscribe: <https:\/\/acme\.example\/unsub\/1>$/m);
      assert.equal(own.received.raw.match(/^List-Unsubscribe:/gm)?.length, 1);
      assert.match(own.received.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      const plain = await send(loudKey, 'plain@example.org');
      assert.doesNotMatch(plain.received.raw, /^List-Unsubscribe/m);
      const asked = await send(loudKey, 'asked@example.org', { listUnsubscribe: true });
      assert.match(
        asked.received.raw,
        /^List-Unsubscribe: <https:\/\/mail\.example\.net\/u\/[^>]+>, <mailto:u-[^>]+@fbl\.example\.org\?subject=unsubscribe>$/m,
      );
    });

    test('garbage at the listener is recorded as unparsed: no crash, nothing else changes', async () => {
      const { id, received } = await send(key, 'steady@example.org');
      const junk = Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? randomBytes(50 + (i % 700))
          : Buffer.from(`Content-Type: multipart/report; boundary="${i}"\r\n\r\n--${i}\r\n${randomBytes(64).toString('latin1')}`),
      );
      const results = await Promise.allSettled(junk.map((raw) => feedback.sendMail({ envelope: { from: '', to: [received.mailFrom] }, raw })));
      assert.ok(results.every((r) => r.status === 'fulfilled'));
      assert.equal((await message(key, id)).deliveries[0].state, 'delivered');
      assert.ok(!(await suppressions(key)).some((s) => s.address === 'steady@example.org'));
      await send(key, 'after-garbage@example.org');
      const metrics = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${'test-admin-token-5f3a9c81d2e7b604'}` } })).text();
      assert.match(metrics, /mailshift_feedback_reports_total\{kind="unparsed"[^}]*\} (\d+)/);
      assert.ok(Number(/mailshift_feedback_reports_total\{kind="unparsed"[^}]*\} (\d+)/.exec(metrics)![1]) >= 200);
    });

    test('webhooks get bounced (async), complained and unsubscribed, each with the message id and recipient', async () => {
      await eventually(() => ['complained', 'unsubscribed'].every((t) => hooked.some((e) => e.type === t)), 15_000, 'the feedback events at the webhook');
      await eventually(() => hooked.some((e) => e.type === 'bounced' && e.detail.async === true), 15_000, 'an async bounce at the webhook');
      for (const e of hooked.filter((x) => ['complained', 'unsubscribed'].includes(x.type) || x.detail.async === true)) {
        assert.match(e.messageId, /\S/);
        assert.match(e.recipient ?? '', /@/);
      }
      assert.equal(hooked.find((e) => e.type === 'complained')?.recipient, 'sam.reader@yahoo.example');
    });

    test('reputation over 24 h and 7 d; a complaint rate past the threshold suspends the instance with the reason, an event and an alert', async () => {
      const sent: { received: { mailFrom: string } }[] = [];
      for (let i = 0; i < 10; i++) sent.push(await send(loudKey, `r${i}@example.com`));
      await eventually(
        async () => {
          const r = (await h.admin('GET', '/api/admin/v1/instances/loud/reputation')).body;
          return r.day.deliveries >= 12;
        },
        10_000,
        'the deliveries counted',
      );
      assert.equal((await h.admin('GET', '/api/admin/v1/instances/loud')).body.suspended, false);

      const arf = about('yahoo-arf.eml', sent[0].received.mailFrom);
      await feedback.sendMail({ envelope: { from: 'feedback@arf.mail.yahoo.com', to: ['fbl@fbl.example.org'] }, raw: arf });
      const loud = (await h.admin('GET', '/api/admin/v1/instances/loud')).body;
      assert.equal(loud.suspended, true);
      assert.match(loud.suspendedReason, /^reputation: complaint rate 8\.33% \(1 complaints of 12 deliveries in 24 h\) passed 0\.30%/);
      assert.ok(loud.recentEvents.some((e: { type: string }) => e.type === 'reputation.suspended'));

      const report = (await h.admin('GET', '/api/admin/v1/reputation')).body;
      const row = report.instances.find((r: { name: string }) => r.name === 'loud');
      assert.equal(row.day.complaints, 1);
      assert.equal(row.week.deliveries, 12);
      assert.ok(Math.abs(row.day.complaintRate - 1 / 12) < 1e-9);
      assert.ok(report.infrastructures.some((r: { name: string }) => r.name === 'infra-loud'));
      assert.deepEqual(
        report.alerts.map((a: { instance: string }) => a.instance),
        ['loud'],
      );
      const metrics = await (await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer test-admin-token-5f3a9c81d2e7b604' } })).text();
      assert.match(metrics, /mailshift_reputation_rate\{scope="instance",name="loud",window="24h",kind="complaint"[^}]*\} 0\.0833/);
      // The instance `fb` is well within its rate: not suspended.
      assert.equal((await h.admin('GET', '/api/admin/v1/instances/fb')).body.suspended, false);

      // An operator resumes it; it stays resumed until another complaint finds the rate too high.
      assert.equal((await h.admin('POST', '/api/admin/v1/instances/loud/resume')).status, 200);
      assert.equal((await h.admin('GET', '/api/admin/v1/instances/loud')).body.suspended, false);
      assert.deepEqual((await h.admin('GET', '/api/admin/v1/reputation')).body.alerts, []);
    });
  });
}
