import assert from 'node:assert/strict';
import { Socket, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { after, before, describe, test } from 'node:test';
import { Sink, type SinkMessage } from './helpers/sink.ts';
import { eventually, smtpClient, startHarness, type Harness } from './helpers/harness.ts';
import { testDatabases, type TestDatabase } from './helpers/databases.ts';

type Credentials = Awaited<ReturnType<Harness['instance']>>;

const idn = 'usuario@ejemplo.españa';
const idnAscii = 'usuario@ejemplo.xn--espaa-rta';
const forged = [
  'Received: from mx.bank.example (mx.bank.example [192.0.2.7])\r\n\tby mx.google.com with ESMTPS id x; Mon, 1 Jan 2029 00:00:00 +0000',
  'DKIM-Signature: v=1; a=rsa-sha256; d=bank.example; s=s1;\r\n h=from:subject; bh=AAAA; b=BBBB',
  'Return-Path: <ceo@bank.example>',
  'Authentication-Results: mx.google.com; dkim=pass header.d=bank.example; spf=pass',
  'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=google.com; s=arc; b=CCCC',
  'Delivered-To: victim@example.com',
].join('\r\n');
const traceNames = /^(Received|DKIM-Signature|Return-Path|Authentication-Results|ARC-Seal|Delivered-To):/im;

// The same attacks on each store: PostgreSQL is where a NUL in a text column used to fail the commit.
for (const kind of testDatabases()) {
  describe(`input hygiene on ${kind.name}`, { skip: kind.skip }, () => {
    let db: TestDatabase;
    let h: Harness;
    let sink: Sink;
    let goodSink: Sink;
    let wire: WireRelay;
    let evil: Credentials;
    let good: Credentials;
    let idnSender: Credentials;
    let sent = 0;

    before(async () => {
      db = await kind.create();
      sink = await Sink.start();
      goodSink = await Sink.start();
      h = await startHarness(db.env);
      evil = await h.instance('evil', [sink.relay]);
      good = await h.instance('good', [goodSink.relay]);
      wire = await WireRelay.start();
      idnSender = await h.instance('idn', [wire.relay]);
    });

    after(async () => {
      await h?.close();
      await sink?.close();
      await goodSink?.close();
      await wire?.close();
      await db?.drop();
    });

    /** A message from the other tenant, sent while (or right after) the attack: it must arrive within 5 s. */
    async function goodMessageFlows(): Promise<void> {
      const subject = `good ${++sent}`;
      const res = await h.api(good.apiKey, 'POST', '/api/v1/messages', { from: 'news@good.example', to: ['reader@example.com'], subject, text: 'hello' });
      assert.equal(res.status, 202);
      await eventually(() => goodSink.messages.some((m) => m.raw.includes(`Subject: ${subject}`)), 5000, `"${subject}" at the good tenant's relay`);
    }

    const arrived = (marker: string): SinkMessage | undefined => sink.messages.find((m) => m.raw.includes(marker));

    test('a NUL in Message-ID over SMTP is a permanent 554 5.6.0, and other mail flows meanwhile', async () => {
      const [reply] = await Promise.all([
        rawSmtp(
          h.app.smtpPort,
          evil,
          ['MAIL FROM:<a@evil.example>', 'RCPT TO:<m@example.com>'],
          'From: a@evil.example\r\nMessage-ID: <x\0y@evil.example>\r\nSubject: nul\r\n\r\nbody\r\n',
        ),
        goodMessageFlows(),
      ]);
      assert.match(reply.data, /^554 5\.6\.0 .*NUL/m);
    });

    test('a NUL in a recipient or sender over SMTP is refused with a 5xx at RCPT / MAIL', async () => {
      const rcpt = await rawSmtp(h.app.smtpPort, evil, ['MAIL FROM:<a@evil.example>', 'RCPT TO:<m\0x@example.com>']);
      assert.match(rcpt.replies[1], /^5\d\d /m);
      const from = await rawSmtp(
        h.app.smtpPort,
        evil,
        ['MAIL FROM:<a\0b@evil.example>', 'RCPT TO:<m@example.com>', 'DATA'],
        'From: a@evil.example\r\n\r\nbody\r\n',
      );
      assert.ok(from.replies.some((r) => /^5\d\d /m.test(r)) || /^5\d\d /m.test(from.data), `a 5xx somewhere: ${JSON.stringify(from)}`);
      assert.ok(!from.replies.concat(from.data).some((r) => /^4\d\d /m.test(r)), 'never a 4xx (senders would retry forever)');
      await goodMessageFlows();
    });

    test('over HTTP raw, NULs in Message-ID, recipients or sender are 400, never 500, even as a stream', async () => {
      const attempts = [
        { raw: 'From: a@evil.example\r\nTo: m@example.com\r\nMessage-ID: <x\u0000y@evil.example>\r\n\r\nbody' },
        { raw: 'From: a@evil.example\r\nSubject: s\r\n\r\nbody', recipients: ['m\u0000x@example.com'] },
        { raw: 'From: a@evil.example\r\nTo: m\u0000x@example.com\r\n\r\nbody' },
        { raw: 'From: a@evil.example\r\nSubject: s\r\n\r\nbody', mailFrom: 'a\u0000b@evil.example', recipients: ['m@example.com'] },
        { raw: 'From: a@evil.example\r\nSubject: s\r\n\r\nbin\u0000ary body', recipients: ['m@example.com'] },
        // Other controls get past the HTTP door's NUL check and meet the message check.
        { raw: 'From: a@evil.example\r\nTo: m@example.com\r\nMessage-ID: <x\u0001y@evil.example>\r\n\r\nbody' },
        { raw: 'From: a@evil.example\r\nTo: m@example.com\r\nSubject: a\rBcc: n@example.com\r\n\r\nbody' },
      ];
      // Forty at once, beside the other tenant's message: one group commit must not take others down.
      const stream = Array.from({ length: 40 }, (_, i) => h.api(evil.apiKey, 'POST', '/api/v1/messages', attempts[i % attempts.length]));
      const [results] = await Promise.all([Promise.all(stream), goodMessageFlows()]);
      assert.equal(sink.messages.length, 0, 'nothing of it was accepted');
      for (const [i, res] of results.entries()) {
        assert.equal(res.status, 400, `attempt ${i % attempts.length}: ${JSON.stringify(res.body)}`);
        // The HTTP door refuses a NUL anywhere in JSON (invalid-request); what passes it meets the message check.
        assert.ok(
          ['invalid-request', 'malformed-message', 'invalid-address'].includes(res.body.code),
          `attempt ${i % attempts.length}: ${JSON.stringify(res.body)}`,
        );
        if (i % attempts.length >= 5) assert.equal(res.body.code, 'malformed-message');
      }
      const json = await h.api(evil.apiKey, 'POST', '/api/v1/messages', {
        from: 'a@evil.example',
        to: ['m@example.com'],
        headers: { 'X-Tag': 'a\u001bb' },
        text: 'x',
      });
      assert.equal(json.status, 400);
      assert.equal(json.body.code, 'malformed-message');
    });

    test('JSON headers: trace and authentication fields are refused with 400 naming the field', async () => {
      for (const name of ['Received', 'DKIM-Signature', 'Return-Path', 'authentication-results', 'ARC-Seal', 'Delivered-To', 'X-Original-To']) {
        const res = await h.api(evil.apiKey, 'POST', '/api/v1/messages', {
          from: 'a@evil.example',
          to: ['m@example.com'],
          subject: 's',
          text: 'x',
          headers: { [name]: 'forged' },
        });
        assert.equal(res.status, 400, name);
        assert.equal(res.body.code, 'invalid-request');
        assert.ok(res.body.detail.includes(name), res.body.detail);
      }
      await goodMessageFlows();
    });

    test('forged trace fields in raw MIME (SMTP and HTTP) are stripped before the relay sees them', async () => {
      const body = (marker: string) => `From: a@evil.example\r\nTo: m@example.com\r\n${forged}\r\nSubject: ${marker}\r\nX-Keep: yes\r\n\r\nbody\r\n`;
      const smtp = await rawSmtp(h.app.smtpPort, evil, ['MAIL FROM:<a@evil.example>', 'RCPT TO:<m@example.com>'], body('trace-smtp'));
      assert.match(smtp.data, /^250 /m);
      const http = await h.api(evil.apiKey, 'POST', '/api/v1/messages', { raw: body('trace-http') });
      assert.equal(http.status, 202);
      await eventually(() => Boolean(arrived('trace-smtp') && arrived('trace-http')), 10_000, 'both messages at the relay');
      for (const marker of ['trace-smtp', 'trace-http']) {
        const raw = arrived(marker)!.raw;
        const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
        assert.doesNotMatch(header, traceNames, `${marker}: ${header}`);
        assert.doesNotMatch(raw, /mx\.google\.com|bank\.example|victim@/, `${marker}: no folded remainder left behind`);
        assert.match(header, /^X-Keep: yes$/m);
        assert.match(header, /^From: a@evil\.example$/m);
      }
      await goodMessageFlows();
    });

    test('an IDN recipient is accepted and sent with its A-label domain; the header stays as written', async () => {
      const json = await h.api(idnSender.apiKey, 'POST', '/api/v1/messages', { from: 'a@idn.example', to: [idn], subject: 'idn-json', text: 'hola' });
      assert.equal(json.status, 202, JSON.stringify(json.body));
      const raw = await h.api(idnSender.apiKey, 'POST', '/api/v1/messages', { raw: `From: a@idn.example\r\nTo: ${idn}\r\nSubject: idn-raw\r\n\r\nhola\r\n` });
      assert.equal(raw.status, 202, JSON.stringify(raw.body));
      await smtpClient(h.app.smtpPort, idnSender.smtp).sendMail({
        envelope: { from: 'a@idn.example', to: [idn] },
        raw: 'From: a@idn.example\r\nSubject: idn-smtp\r\n\r\nhola\r\n',
      } as never);
      await eventually(() => wire.messages.length >= 3, 10_000, 'the IDN messages at the relay');
      // What went over the wire, as the relay read it before any decoding of its own.
      assert.deepEqual(wire.rcptLines, [`RCPT TO:<${idnAscii}>`, `RCPT TO:<${idnAscii}>`, `RCPT TO:<${idnAscii}>`]);
      const rawArrived = wire.messages.find((m) => m.includes('Subject: idn-raw'));
      assert.match(rawArrived ?? '', new RegExp(`^To: ${idn}\\r$`, 'm'));
      const view = await h.api(idnSender.apiKey, 'GET', `/api/v1/messages/${raw.body.id}`);
      assert.equal(view.body.deliveries[0].recipient, idnAscii);

      // A name that has no A-label form is an invalid address, not a server error.
      const bad = await h.api(idnSender.apiKey, 'POST', '/api/v1/messages', { from: 'a@idn.example', to: ['x@xn--zz.example'], text: 'x' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, 'invalid-address');
      // Fullwidth digits fold to a bare IP: refused like one.
      const folded = await h.api(idnSender.apiKey, 'POST', '/api/v1/messages', { raw: 'From: a@idn.example\r\n\r\nx', recipients: ['x@１２７.０.０.１'] });
      assert.equal(folded.status, 400);
      assert.equal(folded.body.code, 'invalid-address');
      await goodMessageFlows();
    });
  });
}

/**
 * A relay that records RCPT commands as they came over the wire: smtp-server turns A-labels
 * back into Unicode in the envelope it hands on, so the shared Sink cannot tell the forms apart.
 */
class WireRelay {
  readonly rcptLines: string[] = [];
  readonly messages: string[] = [];
  private constructor(
    private readonly server: SMTPServer,
    readonly relay: string,
  ) {}

  static async start(): Promise<WireRelay> {
    let relay: WireRelay;
    const quiet = () => undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: {
        info: quiet,
        error: quiet,
        warn: quiet,
        trace: quiet,
        fatal: quiet,
        debug: (meta: { tnx?: string; command?: string }, _format: string, line: string) => {
          if (meta?.tnx === 'command' && meta.command === 'RCPT') relay.rcptLines.push(String(line).replace(/\s+SMTPUTF8$/i, ''));
        },
      } as never,
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          relay.messages.push(Buffer.concat(chunks).toString('utf8'));
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new WireRelay(server, `127.0.0.1:${(server.server.address() as AddressInfo).port}`);
    return relay;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Speaks SMTP by hand (no client library sends a NUL): AUTH, then `commands`, then DATA
 * with `data` if given and every command so far was accepted. Replies are returned as sent.
 */
async function rawSmtp(port: number, auth: Credentials, commands: string[], data?: string): Promise<{ replies: string[]; data: string }> {
  const socket = new Socket();
  let transcript = '';
  socket.on('data', (d) => (transcript += d.toString()));
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  try {
    await eventually(() => /^220 /m.test(transcript), 5000, 'greeting');
    const say = async (line: string) => {
      const from = transcript.length;
      socket.write(line + '\r\n');
      await eventually(() => /(^|\n)\d{3} [^\r\n]*\r\n$/.test(transcript.slice(from)), 5000, JSON.stringify(line));
      return transcript.slice(from);
    };
    await say('EHLO test');
    await say(`AUTH PLAIN ${Buffer.from(`\0${auth.smtp.username}\0${auth.smtp.password}`).toString('base64')}`);
    const replies: string[] = [];
    for (const c of commands) replies.push(await say(c));
    if (data === undefined || !replies.every((r) => /^2/.test(r))) return { replies, data: '' };
    const go = await say('DATA');
    if (!/^354/.test(go)) return { replies: [...replies, go], data: '' };
    return { replies, data: await say(data + '.') };
  } finally {
    socket.end('QUIT\r\n');
  }
}
