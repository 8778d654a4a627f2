import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import fc from 'fast-check';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { systemClock } from '../src/system-clock.ts';
import { feedbackRecipientFilter } from '../src/app/feedback/feedback-recipients.ts';
import type { FeedbackReport } from '../src/app/feedback/feedback-report.ts';
import { VerpCodec } from '../src/app/feedback/verp.ts';
import { feedbackServerDefaults, startFeedbackServer, type FeedbackEnvelope, type FeedbackServerOptions } from '../src/smtp/feedback-server.ts';

const codec = new VerpCodec({ secrets: ['test-secret-0123456789'] });
const domain = 'bounces.example.net';
const verp = (id: number) => codec.encode(id, domain);
const fixture = (name: string) => readFileSync(new URL(`./fixtures/feedback/${name}`, import.meta.url));
const quiet = pino({ level: 'silent' });

interface Listener {
  port: number;
  reports: { report: FeedbackReport; envelope: FeedbackEnvelope }[];
  failNext: number;
  close(): Promise<void>;
}

async function startListener(overrides: Partial<FeedbackServerOptions> = {}): Promise<Listener> {
  const accepts = feedbackRecipientFilter({ codec, bounceDomains: [domain], mailboxes: ['fbl@bounces.example.net'] });
  const listener = { reports: [], failNext: 0 } as unknown as Listener;
  const server = await startFeedbackServer(
    { ...feedbackServerDefaults, host: '127.0.0.1', port: 0, hostname: 'mx.bounces.example.net', greetingDelayMs: 0, ...overrides },
    {
      accepts,
      async received(report, envelope) {
        if (listener.failNext > 0) {
          listener.failNext--;
          throw new Error('store unavailable');
        }
        listener.reports.push({ report, envelope });
      },
    },
    systemClock,
    quiet,
  );
  return Object.assign(listener, { port: server.port, close: server.close });
}

function transport(port: number, options: { pool?: boolean; maxConnections?: number; localAddress?: string } = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, maxMessages: Infinity, ...options } as Parameters<
    typeof nodemailer.createTransport
  >[0]);
}

/** A hand-spoken SMTP client: exactly what the server answers, and when it hangs up. */
class RawSmtp {
  private buffer = '';
  private readonly replies: string[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      for (let at = this.buffer.search(/^\d{3} [^\r\n]*\r\n/m); at >= 0; at = this.buffer.search(/^\d{3} [^\r\n]*\r\n/m)) {
        // The reply with its continuation lines (250-…), which come before its last line.
        const end = this.buffer.indexOf('\r\n', at) + 2;
        this.replies.push(this.buffer.slice(0, end - 2));
        this.buffer = this.buffer.slice(end);
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, localAddress = '127.0.0.1'): Promise<RawSmtp> {
    const socket = new Socket();
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new RawSmtp(socket)));
    });
  }

  async reply(timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('no reply in time');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.replies.shift()!;
  }

  async command(line: string): Promise<string | null> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  write(data: string): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('feedback listener', () => {
  let l: Listener;
  before(async () => {
    l = await startListener();
  });
  after(() => l.close());

  test('DSNs as Postfix, Exchange and Gmail send them arrive over SMTP, parsed, with their envelope', async () => {
    const t = transport(l.port);
    const sent: [string, number, string][] = [
      ['postfix-dsn.eml', 4242, 'jane.doe@example.org'],
      ['exchange-ndr.eml', 4243, 'john.smith@contoso.example'],
      ['gmail-dsn.eml', 4244, 'no.such.user@gmail.com'],
    ];
    for (const [file, id] of sent) {
      const info = await t.sendMail({ envelope: { from: '', to: [verp(id)] }, raw: fixture(file) });
      assert.match(info.response, /^250 /);
    }
    t.close();
    assert.equal(l.reports.length, 3);
    for (const [i, [, id, recipient]] of sent.entries()) {
      const { report, envelope } = l.reports[i];
      assert.equal(report.kind, 'dsn');
      if (report.kind !== 'dsn') continue;
      assert.equal(report.recipients[0].finalRecipient, recipient);
      assert.equal(report.recipients[0].verdict.outcome, 'bounced');
      assert.equal(report.recipients[0].verdict.category, 'unknown-user');
      assert.deepEqual(envelope.recipients, [verp(id)]);
      assert.equal(envelope.mailFrom, '');
    }
  });

  test('an ARF report to the complaint mailbox, and an out-of-office, arrive as such', async () => {
    l.reports.length = 0;
    const t = transport(l.port);
    await t.sendMail({ envelope: { from: 'feedback@arf.mail.yahoo.com', to: ['FBL@bounces.example.net'] }, raw: fixture('yahoo-arf.eml') });
    await t.sendMail({ envelope: { from: '', to: [verp(4247)] }, raw: fixture('out-of-office.eml') });
    t.close();
    assert.deepEqual(
      l.reports.map((r) => r.report.kind),
      ['arf', 'auto-reply'],
    );
  });

  test('an unknown recipient is refused at RCPT with 550 5.1.1: a person, a forged VERP, another domain, a relay attempt', async () => {
    const s = await RawSmtp.open(l.port, '127.0.0.5');
    assert.match((await s.reply())!, /^220 /);
    assert.match((await s.command('EHLO mta.example.org'))!, /^250[ -]/);
    assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
    const good = verp(4242);
    const local = good.slice(0, good.indexOf('@'));
    const forged = `${local.slice(0, -1)}${local.endsWith('0') ? '1' : '0'}@${domain}`;
    for (const rcpt of [`postmaster@${domain}`, forged, good.replace(domain, 'other.example'), 'someone@gmail.com']) {
      assert.match((await s.command(`RCPT TO:<${rcpt}>`))!, /^550 5\.1\.1 /, rcpt);
    }
    assert.match((await s.command(`RCPT TO:<${good.toUpperCase()}>`))!, /^250 /);
    s.close();
  });

  test('no AUTH is offered and none is accepted', async () => {
    const s = await RawSmtp.open(l.port);
    await s.reply();
    const ehlo = await s.command('EHLO mta.example.org');
    assert.match(ehlo ?? '', /^250-/);
    assert.doesNotMatch(ehlo ?? '', /AUTH/);
    assert.match((await s.command('AUTH PLAIN AGFiYwBkZWY='))!, /^5\d\d /);
    s.close();
  });

  test('a message over the size limit is refused with 552 5.3.4 and not handed over', async () => {
    const small = await startListener({ maxMessageBytes: 64 * 1024 });
    try {
      const t = transport(small.port);
      const big = Buffer.concat([fixture('postfix-dsn.eml'), Buffer.from(`${'x'.repeat(78)}\r\n`.repeat(1000))]);
      await assert.rejects(t.sendMail({ envelope: { from: '', to: [verp(1)] }, raw: big }), /552 5\.3\.4/);
      t.close();
      assert.equal(small.reports.length, 0);
    } finally {
      await small.close();
    }
  });

  test('past parseBytes the quoted original is cut and dropped; the report parts are still read', async () => {
    const cut = await startListener({ parseBytes: 8 * 1024 });
    try {
      const t = transport(cut.port);
      const padded = fixture('postfix-dsn.eml')
        .toString()
        .replace(
          'Content-Type: text/plain; charset=utf-8\n\n--4Y7k',
          `Content-Type: text/plain; charset=utf-8\n\n${`${'z'.repeat(76)}\n`.repeat(3000)}\n--4Y7k`,
        );
      assert.ok(padded.length > 200 * 1024);
      await t.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: padded });
      t.close();
      const [{ report, envelope }] = cut.reports;
      assert.equal(report.kind, 'dsn');
      assert.equal(report.kind === 'dsn' && report.recipients[0].finalRecipient, 'jane.doe@example.org');
      assert.ok(envelope.bytes > 200 * 1024);
    } finally {
      await cut.close();
    }
  });

  test('a failure to record is answered 451 4.3.0, so the sender retries; the next one is taken', async () => {
    l.reports.length = 0;
    l.failNext = 1;
    const t = transport(l.port);
    await assert.rejects(t.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: fixture('postfix-dsn.eml') }), /451 4\.3\.0/);
    await t.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: fixture('postfix-dsn.eml') });
    t.close();
    assert.equal(l.reports.length, 1);
  });
});

describe('feedback listener limits', () => {
  test('an early talker is refused with 421 before the greeting', async () => {
    const l = await startListener({ greetingDelayMs: 300 });
    try {
      const s = await RawSmtp.open(l.port);
      s.write('EHLO impatient.example\r\n');
      assert.match((await s.reply())!, /^421 .*talk too soon/i);
      // A patient client is greeted.
      const p = await RawSmtp.open(l.port);
      assert.match((await p.reply())!, /^220 /);
      p.close();
    } finally {
      await l.close();
    }
  });

  test('connections per source address are capped with 421 4.3.2; other sources still connect', async () => {
    const l = await startListener({ maxClientsPerAddress: 2 });
    try {
      const held = [await RawSmtp.open(l.port, '127.0.0.7'), await RawSmtp.open(l.port, '127.0.0.7')];
      for (const h of held) assert.match((await h.reply())!, /^220 /);
      const third = await RawSmtp.open(l.port, '127.0.0.7');
      assert.match((await third.reply())!, /^421 4\.3\.2 /);
      const other = await RawSmtp.open(l.port, '127.0.0.8');
      assert.match((await other.reply())!, /^220 /);
      for (const s of [...held, third, other]) s.close();
    } finally {
      await l.close();
    }
  });

  test('messages per source are rate limited with 421 4.7.0 while another source is served', async () => {
    const l = await startListener({ messageRate: { count: 3, perMs: 60_000 } });
    try {
      const noisy = transport(l.port, { localAddress: '127.0.0.9' });
      for (let i = 0; i < 3; i++) await noisy.sendMail({ envelope: { from: '', to: [verp(i)] }, raw: fixture('postfix-dsn.eml') });
      await assert.rejects(noisy.sendMail({ envelope: { from: '', to: [verp(9)] }, raw: fixture('postfix-dsn.eml') }), /421 4\.7\.0/);
      noisy.close();
      const other = transport(l.port, { localAddress: '127.0.0.10' });
      await other.sendMail({ envelope: { from: '', to: [verp(10)] }, raw: fixture('postfix-dsn.eml') });
      other.close();
      assert.equal(l.reports.length, 4);
    } finally {
      await l.close();
    }
  });

  test('a source guessing VERP addresses is locked out with 421 4.7.0; another source still delivers', async () => {
    const l = await startListener();
    try {
      const s = await RawSmtp.open(l.port, '127.0.0.11');
      await s.reply();
      await s.command('EHLO guesser.example');
      await s.command('MAIL FROM:<>');
      let last = '';
      for (let i = 0; i < 15 && !s.closed; i++) last = (await s.command(`RCPT TO:<b-${i}-0000000000000@${domain}>`)) ?? last;
      assert.match(last, /^421 4\.7\.0 /);
      const again = await RawSmtp.open(l.port, '127.0.0.11');
      assert.match((await again.reply())!, /^421 4\.7\.0 /);
      const t = transport(l.port, { localAddress: '127.0.0.12' });
      await t.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: fixture('postfix-dsn.eml') });
      t.close();
      assert.equal(l.reports.length, 1);
    } finally {
      await l.close();
    }
  });
});

describe('feedback listener under garbage', () => {
  let l: Listener;
  before(async () => {
    l = await startListener();
  });
  after(() => l.close());

  test('1,000 malformed or fuzzed messages: no crash, all handed over, a good DSN from elsewhere goes through meanwhile and after', async () => {
    const fixtures = ['postfix-dsn.eml', 'exchange-ndr.eml', 'yahoo-arf.eml', 'qmail-bounce.eml', 'exchange-legacy-ndr.eml'].map((f) => fixture(f).toString());
    const mangled = fc
      .tuple(fc.nat(fixtures.length - 1), fc.nat(), fc.nat(400), fc.string({ maxLength: 300, unit: 'binary' }))
      .map(([which, at, cut, noise]) => {
        const base = fixtures[which];
        const i = at % base.length;
        return Buffer.from(base.slice(0, i) + noise + base.slice(i + cut));
      });
    const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 4096 }).map((b) => Buffer.from(b));
    const structured = fc
      .tuple(
        fc.constantFrom('multipart/report; report-type=delivery-status', 'multipart/report; report-type=feedback-report', 'multipart/mixed', 'message/rfc822'),
        fc.array(
          fc.tuple(
            fc.constantFrom('message/delivery-status', 'message/feedback-report', 'text/rfc822-headers', 'message/rfc822', 'text/plain', 'text/html'),
            fc.string({ maxLength: 500 }),
          ),
          { maxLength: 6 },
        ),
      )
      .map(([type, parts]) =>
        Buffer.from(`Content-Type: ${type}; boundary="b"\r\n\r\n${parts.map(([t, body]) => `--b\r\nContent-Type: ${t}\r\n\r\n${body}\r\n`).join('')}--b--\r\n`),
      );
    const samples = fc.sample(fc.oneof(mangled, randomBytes, structured), 990);
    const deep = Buffer.from(`${'Content-Type: multipart/mixed; boundary="d"\r\n\r\n--d\r\n'.repeat(300)}x\r\n`);
    const special = [
      Buffer.alloc(0),
      deep,
      Buffer.from('\0'.repeat(10_000)),
      Buffer.from(`Subject: ${'y'.repeat(512 * 1024)}\r\n\r\n`),
      Buffer.from('\r\n.\r\n'),
      Buffer.from('.'.repeat(5000)),
      Buffer.from('Content-Type: multipart/report; boundary=\r\n\r\n--\r\n'),
      Buffer.from('=?utf-8?B?////?=\r\n\r\n'),
      Buffer.from('\uD800\uDFFF\uFFFF'),
      Buffer.from('From: MAILER-DAEMON@x.example\r\n\r\n' + '<a@b.c>: '.repeat(3000)),
    ];
    const all = [...special, ...samples];
    assert.equal(all.length, 1000);

    const pool = transport(l.port, { pool: true, maxConnections: 4 });
    const good = transport(l.port, { localAddress: '127.0.0.20' });
    let goodAt = 0;
    const started = Date.now();
    const garbage = Promise.allSettled(all.map((raw) => pool.sendMail({ envelope: { from: '', to: [verp(77)] }, raw })));
    // Meanwhile, a good DSN from another source is taken within a few seconds.
    await good.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: fixture('postfix-dsn.eml') });
    goodAt = Date.now() - started;
    const results = await garbage;
    pool.close();
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 0, String((refused[0] as PromiseRejectedResult | undefined)?.reason));
    assert.ok(goodAt < 10_000, `good DSN accepted after ${goodAt} ms`);
    assert.equal(l.reports.length, 1001);
    const kinds = new Set(l.reports.map((r) => r.report.kind));
    assert.ok(kinds.has('unparsed'));

    // And afterwards the listener still takes a good DSN and reads it.
    const before = l.reports.length;
    await good.sendMail({ envelope: { from: '', to: [verp(4242)] }, raw: fixture('gmail-dsn.eml') });
    good.close();
    const last = l.reports[before].report;
    assert.equal(last.kind, 'dsn');
    assert.equal(last.kind === 'dsn' && last.recipients[0].finalRecipient, 'no.such.user@gmail.com');
  });
});
