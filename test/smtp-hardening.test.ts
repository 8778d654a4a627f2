import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { startMailshift } from '../src/main.ts';
import { Sink } from './helpers/sink.ts';
import { SmtpSession } from './helpers/smtp-session.ts';
import { adminToken, eventually, smtpClient, startHarness, type Harness } from './helpers/harness.ts';

type Creds = { smtp: { username: string; password: string }; apiKey: string };

/** A good message from another instance, over 127.0.0.1, must get through within a few seconds. */
async function sendsPromptly(h: Harness, sink: Sink, creds: Creds, tag: string): Promise<void> {
  const deadline = Date.now() + 5000;
  const info = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({ from: 'news@good.example', to: `${tag}@example.com`, subject: tag, text: 'still here' });
  assert.match(info.response, /^250 /);
  assert.ok(Date.now() < deadline, 'accepted within 5 s');
  await eventually(() => sink.messages.some((m) => m.recipients.includes(`${tag}@example.com`)), 5000, `delivery of ${tag}`);
}

async function counter(h: Harness, name: 'authFailures' | 'authRefused' | 'busyRefusals', labels: Record<string, string>): Promise<number> {
  const { values } = await h.app.services.metrics[name].get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((n, v) => n + v.value, 0);
}

const message = (from: string, to: string, body: string) => `From: ${from}\r\nTo: ${to}\r\nSubject: t\r\n\r\n${body}\r\n.\r\n`;

describe('SMTP AUTH brute force', () => {
  let h: Harness;
  let sink: Sink;
  let victim: Creds;
  let good: Creds;
  before(async () => {
    sink = await Sink.start();
    h = await startHarness();
    victim = await h.instance('victim', [sink.relay]);
    good = await h.instance('good', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('a loop of wrong passwords ends in 421 4.7.0 and disconnection; the right one is refused from that source while locked; others send meanwhile', async () => {
    const attacker = '127.0.0.2';
    const transcript: string[] = [];
    let lockedAt = -1;
    const sending = sendsPromptly(h, sink, good, 'during-attack');
    for (let attempt = 0; attempt < 40 && lockedAt < 0; ) {
      const s = await SmtpSession.open(h.app.smtpPort, attacker);
      assert.match((await s.reply())!, /^220 /);
      await s.command('EHLO attacker.example');
      while (!s.closed && lockedAt < 0) {
        const reply = await s.command(`AUTH PLAIN ${Buffer.from(`\0victim\0guess-${attempt++}`).toString('base64')}`);
        if (reply === null) break;
        transcript.push(reply);
        if (/^421 4\.7\.0 .*try again in \d+ s/.test(reply)) lockedAt = attempt;
        else if (reply.startsWith('421')) {
          // Too many failures in one session: disconnected, with the same enhanced code.
          assert.match(reply, /^421 4\.7\.0 Too many failed authentication attempts in this session/);
          await s.done;
        } else assert.match(reply, /^535 5\.7\.8 /);
      }
      await s.done.then(() => assert.ok(s.closed));
    }
    assert.equal(lockedAt, 10, `the source locks at its 10th failure: ${transcript.join(' | ')}`);
    assert.ok(transcript.filter((r) => r.startsWith('421')).length >= 3, 'sessions were cut after 3 failures each');

    // The right password from the locked source: refused before it is even checked, and closed.
    const s = await SmtpSession.open(h.app.smtpPort, attacker);
    await s.reply();
    assert.match((await s.login(victim.smtp.username, victim.smtp.password))!, /^421 4\.7\.0 /);
    await s.done;

    // The account itself is not locked by 10 guesses from one stranger: its owner still sends.
    await sending;
    await sendsPromptly(h, sink, victim, 'owner-after-attack');
    assert.equal(await counter(h, 'authFailures', { door: 'smtp' }), 10);
    assert.ok((await counter(h, 'authRefused', { door: 'smtp', scope: 'source' })) >= 1);
  });

  test('guesses at one user spread over many addresses lock it for those addresses, never for its owner elsewhere', async () => {
    const guess = async (source: string, n: number) => {
      const s = await SmtpSession.open(h.app.smtpPort, source);
      await s.reply();
      await s.command('EHLO spread.example');
      const replies: (string | null)[] = [];
      for (let i = 0; i < n; i++) replies.push(await s.command(`AUTH PLAIN ${Buffer.from(`\0victim\0spread-${source}-${i}`).toString('base64')}`));
      s.close();
      return replies;
    };
    // 2 guesses from each of 10 addresses: no address reaches its own limit; the account does.
    for (let i = 10; i < 20; i++) await guess(`127.0.0.${i}`, 2);
    const guesser = await SmtpSession.open(h.app.smtpPort, '127.0.0.10');
    await guesser.reply();
    assert.match((await guesser.login(victim.smtp.username, victim.smtp.password))!, /^421 4\.7\.0 /, 'a guessing address is refused even the right password');
    guesser.close();
    const owner = await SmtpSession.open(h.app.smtpPort, '127.0.0.30');
    await owner.reply();
    assert.match((await owner.login(victim.smtp.username, victim.smtp.password))!, /^235 /, 'the owner, from an address that never failed, gets in');
    owner.close();
  });

  test('an unknown user and a known user with a wrong password get the same answers and the same lockout', async () => {
    const answers = async (source: string, user: string) => {
      const got: (string | null)[] = [];
      const s = await SmtpSession.open(h.app.smtpPort, source);
      await s.reply();
      await s.command('EHLO c.example');
      for (let i = 0; i < 4; i++) got.push(await s.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0wrong-${i}`).toString('base64')}`));
      await s.done;
      return got;
    };
    const known = await answers('127.0.0.3', 'good');
    const unknown = await answers('127.0.0.4', 'nobody-by-this-name');
    assert.deepEqual(unknown, known);
    assert.deepEqual(
      known.slice(0, 2).map((r) => r?.slice(0, 9)),
      ['535 5.7.8', '535 5.7.8'],
    );
    assert.match(known[2]!, /^421 4\.7\.0 /);
    assert.equal(known[3], null, 'nothing answered after the 421: the connection is closed');
  });
});

test('failed AUTH is logged with source and user name, never the password', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-smtp-log-'));
  const config = loadConfig({
    MAILSHIFT_DATA_DIR: dataDir,
    MAILSHIFT_SMTP_PORT: '0',
    MAILSHIFT_HTTP_PORT: '0',
    MAILSHIFT_CAPTURE_PORT: '0',
    MAILSHIFT_FEEDBACK_PORT: '0',
    MAILSHIFT_ADMIN_TOKEN: adminToken,
  });
  const app = await startMailshift(config, { logger });
  try {
    const s = await SmtpSession.open(app.smtpPort, '127.0.0.9');
    await s.reply();
    assert.match((await s.login('someone', 'hunter2-secret-password'))!, /^535 /);
    s.close();
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'authentication failed');
    assert.ok(failure, 'the failure is logged');
    assert.equal(failure.source, '127.0.0.9');
    assert.equal(failure.account, 'someone');
    assert.ok(!lines.some((l) => l.includes('hunter2')), 'no password in any log line');
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('SMTP connection caps', () => {
  let h: Harness;
  let sink: Sink;
  let good: Creds;
  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_SMTP_MAX_CLIENTS: '60', MAILSHIFT_SMTP_MAX_CLIENTS_PER_ADDRESS: '20' });
    good = await h.instance('capped', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('one address holding many connections: past its cap every one is answered 421 and closed, none dropped; others still send', async () => {
    const sessions = await Promise.all(Array.from({ length: 120 }, () => SmtpSession.open(h.app.smtpPort, '127.0.0.5')));
    const greetings = await Promise.all(sessions.map((s) => s.reply()));
    assert.equal(greetings.filter((g) => g?.startsWith('220 ')).length, 20);
    const refused = greetings.filter((g) => g === '421 4.3.2 Too many connections from your address, try again later');
    assert.equal(refused.length, 100, `every other one is told why: ${[...new Set(greetings)].join(' | ')}`);
    await Promise.all(sessions.filter((_, i) => greetings[i]!.startsWith('421')).map((s) => s.done));
    assert.equal(await counter(h, 'busyRefusals', { door: 'smtp', reason: 'connections-per-address' }), 100);
    await sendsPromptly(h, sink, good, 'beside-the-flood');
    for (const s of sessions) s.close();
    // Slots come back when connections close.
    await eventually(
      async () => {
        const s = await SmtpSession.open(h.app.smtpPort, '127.0.0.5');
        const g = await s.reply();
        s.close();
        return g?.startsWith('220 ') === true;
      },
      5000,
      'a slot again',
    );
  });

  test('past the total cap the oldest unidentified session makes room; with every session identified, a new client is 421 4.3.2', async () => {
    const idle = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = await SmtpSession.open(h.app.smtpPort, `127.0.1.${1 + (i % 3)}`);
        assert.match((await s.reply())!, /^220 /);
        return s;
      }),
    );
    // Idle connections cannot keep a real client out: the oldest of them goes.
    const late = await SmtpSession.open(h.app.smtpPort, '127.0.1.9');
    assert.match((await late.reply())!, /^220 /);
    assert.match((await late.login(good.smtp.username, good.smtp.password))!, /^235 /);
    await eventually(() => idle.some((s) => s.closed), 3000, 'an idle session evicted');
    assert.ok(idle.filter((s) => s.closed).length >= 1);
    assert.equal((await counter(h, 'busyRefusals', { door: 'smtp', reason: 'evicted-unidentified' })) >= 1, true);
    for (const s of idle) s.close();
    late.close();
    // Every slot held by an authenticated session: nobody to evict, the newcomer is refused.
    await new Promise((r) => setTimeout(r, 300));
    const held = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = await SmtpSession.open(h.app.smtpPort, `127.0.2.${1 + (i % 3)}`);
        await s.reply();
        assert.match((await s.login(good.smtp.username, good.smtp.password))!, /^235 /);
        return s;
      }),
    );
    const refused = await SmtpSession.open(h.app.smtpPort, '127.0.2.9');
    assert.equal(await refused.reply(), '421 4.3.2 Too many connections, try again later');
    await refused.done;
    for (const s of held) s.close();
    await eventually(
      async () => {
        const s = await SmtpSession.open(h.app.smtpPort);
        const g = await s.reply();
        s.close();
        return g?.startsWith('220 ') === true;
      },
      5000,
      'room again',
    );
  });
});

describe('SMTP envelope senders', () => {
  let h: Harness;
  let sink: Sink;
  let creds: Creds;
  before(async () => {
    sink = await Sink.start();
    h = await startHarness();
    creds = await h.instance('senders', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('a bad sender is refused at MAIL FROM with 553 5.1.3, before any DATA', async () => {
    const s = await SmtpSession.open(h.app.smtpPort, '127.0.2.1');
    await s.reply();
    assert.match((await s.login(creds.smtp.username, creds.smtp.password))!, /^235 /);
    for (const bad of ['x@127.0.0.1', 'x@localhost', 'x@intranet', 'a..b@example.com']) {
      const reply = (await s.command(`MAIL FROM:<${bad}>`))!;
      assert.match(reply, /^5\d\d /, bad);
      if (reply.startsWith('553')) assert.match(reply, /^553 5\.1\.3 Sender address rejected/, bad);
      // No transaction was opened: RCPT needs a MAIL first.
      assert.match((await s.command('RCPT TO:<r@example.com>'))!, /^503 /, bad);
    }
    assert.match((await s.command('MAIL FROM:<x@127.0.0.1>'))!, /^553 5\.1\.3 /);
    assert.match((await s.command('MAIL FROM:<x@localhost>'))!, /^553 5\.1\.3 /);
    // The null sender (bounces) and a good one are fine.
    assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
    await s.command('RSET');
    assert.match((await s.command('MAIL FROM:<news@senders.example>'))!, /^250 /);
    s.close();
  });

  test('UTF-8 in a local part needs SMTPUTF8 (553 5.6.7 without it); IDN domains need nothing', async () => {
    const s = await SmtpSession.open(h.app.smtpPort, '127.0.2.2');
    await s.reply();
    await s.login(creds.smtp.username, creds.smtp.password);
    s.write(Buffer.from('MAIL FROM:<jos\u00e9@senders.example>\r\n', 'utf8'));
    assert.match((await s.reply())!, /^553 5\.6\.7 /);
    s.write(Buffer.from('MAIL FROM:<jos\u00e9@senders.example> SMTPUTF8\r\n', 'utf8'));
    assert.match((await s.reply())!, /^250 /);
    s.write(Buffer.from('RCPT TO:<m\u00fcller@b\u00fccher.example>\r\n', 'utf8'));
    assert.match((await s.reply())!, /^250 /);
    await s.command('RSET');
    assert.match((await s.command('MAIL FROM:<news@xn--bcher-kva.example>'))!, /^250 /);
    s.write(Buffer.from('RCPT TO:<m\u00fcller@example.com>\r\n', 'utf8'));
    assert.match((await s.reply())!, /^553 5\.6\.7 /);
    assert.match((await s.command('RCPT TO:<plain@b\u00fccher.example>'))!, /^250 /);
    s.close();
  });
});

describe('SMTP DATA memory budget', () => {
  const limit = 4 * 1024 * 1024;
  let h: Harness;
  let sink: Sink;
  let creds: Creds;
  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_MAX_INFLIGHT_BYTES: String(limit), MAILSHIFT_INFLIGHT_WAIT_MS: '1500' });
    creds = await h.instance('budget', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });
  const incoming = () => readdirSync(join(h.dataDir, 'incoming'));

  async function openTransaction(source: string, to: string): Promise<SmtpSession> {
    const s = await SmtpSession.open(h.app.smtpPort, source);
    await s.reply();
    await s.login(creds.smtp.username, creds.smtp.password);
    assert.match((await s.command('MAIL FROM:<news@budget.example>'))!, /^250 /);
    assert.match((await s.command(`RCPT TO:<${to}>`))!, /^250 /);
    assert.match((await s.command('DATA'))!, /^354 /);
    return s;
  }

  test('with the budget spent, MAIL FROM is answered 452 4.3.1; afterwards mail flows', async () => {
    const inflight = h.app.services.inflight;
    assert.ok(inflight.tryReserve(limit));
    try {
      const s = await SmtpSession.open(h.app.smtpPort, '127.0.3.1');
      await s.reply();
      await s.login(creds.smtp.username, creds.smtp.password);
      assert.match((await s.command('MAIL FROM:<news@budget.example>'))!, /^452 4\.3\.1 /);
      s.close();
    } finally {
      inflight.release(limit);
    }
    assert.ok((await counter(h, 'busyRefusals', { door: 'smtp', reason: 'memory' })) >= 1);
    const info = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({ from: 'news@budget.example', to: 'after-spent@example.com', text: 'ok' });
    assert.match(info.response, /^250 /);
  });

  test('a client that leaves while its message waits for memory: nothing is accepted (it will send again)', async () => {
    const inflight = h.app.services.inflight;
    const held = limit - 64 * 1024;
    assert.ok(inflight.tryReserve(held));
    try {
      const s = await openTransaction('127.0.3.5', 'left@example.com');
      s.write(message('news@budget.example', 'left@example.com', 'l'.repeat(512 * 1024)));
      await eventually(() => incoming().length === 1, 3000, 'the spilled message waiting');
      s.close();
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      inflight.release(held);
    }
    await eventually(() => inflight.inUse === 0 && incoming().length === 0, 3000, 'the reservation and the file given back');
    await new Promise((r) => setTimeout(r, 300));
    const queued = (await h.admin('GET', '/api/admin/v1/queue')).body.instances?.budget ?? {};
    assert.ok(!sink.messages.some((m) => m.recipients.includes('left@example.com')), 'not delivered');
    assert.equal(queued.scheduled ?? 0, 0, 'not in the spool');
  });

  test('a message that does not fit waits at end of DATA in a 0600 temp file, and is accepted once room comes', async () => {
    const inflight = h.app.services.inflight;
    const held = limit - 64 * 1024;
    assert.ok(inflight.tryReserve(held));
    let released = false;
    try {
      const s = await openTransaction('127.0.3.2', 'waited@example.com');
      const answered = s.replies.length;
      s.write(message('news@budget.example', 'waited@example.com', 'w'.repeat(512 * 1024)));
      await eventually(() => incoming().length === 1, 3000, 'the spilled message');
      const mode = statSync(join(h.dataDir, 'incoming', incoming()[0])).mode & 0o777;
      assert.equal(mode, 0o600);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(s.replies.length, answered, 'no answer while there is no room');
      inflight.release(held);
      released = true;
      assert.match((await s.reply())!, /^250 2\.6\.0 Ok: queued as /);
      s.close();
    } finally {
      if (!released) inflight.release(held);
    }
    await eventually(() => sink.messages.some((m) => m.recipients.includes('waited@example.com')), 5000, 'delivery');
    assert.deepEqual(incoming(), [], 'the temp file is gone');
    assert.equal(inflight.inUse, 0);
  });

  test('no room within the wait: 452 4.3.1 after DATA and nothing accepted; the retry goes through', async () => {
    const inflight = h.app.services.inflight;
    const held = limit - 64 * 1024;
    await eventually(() => inflight.inUse === 0, 5000, 'an idle budget');
    assert.ok(inflight.tryReserve(held));
    try {
      const s = await openTransaction('127.0.3.3', 'refused-once@example.com');
      s.write(message('news@budget.example', 'refused-once@example.com', 'r'.repeat(512 * 1024)));
      assert.match((await s.reply())!, /^452 4\.3\.1 /);
      // The session goes on: the client may try again later on it.
      assert.match((await s.command('NOOP'))!, /^250 /);
      s.close();
    } finally {
      inflight.release(held);
    }
    assert.deepEqual(incoming(), []);
    const info = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({
      from: 'news@budget.example',
      to: 'refused-once@example.com',
      text: 'r'.repeat(512 * 1024),
    });
    assert.match(info.response, /^250 /);
    await eventually(() => sink.messages.filter((m) => m.recipients.includes('refused-once@example.com')).length === 1, 5000, 'one delivery');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.messages.filter((m) => m.recipients.includes('refused-once@example.com')).length, 1, 'the refused one was never accepted');
  });

  test('many parallel messages larger than the budget together take turns: all accepted, none lost, memory returned', async () => {
    const n = 12;
    const body = 'p'.repeat(900 * 1024);
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        smtpClient(h.app.smtpPort, creds.smtp).sendMail({ from: 'news@budget.example', to: `par${i}@example.com`, text: body }),
      ),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled').map((_, i) => i);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    for (const reason of refused) assert.match(reason, /452 4\.3\.1/);
    assert.ok(accepted.length >= n / 2, `most fit in turn: ${refused.join(' | ')}`);
    await eventually(
      () => results.every((r, i) => r.status === 'rejected' || sink.messages.some((m) => m.recipients.includes(`par${i}@example.com`))),
      10_000,
      'every accepted one delivered',
    );
    assert.equal(h.app.services.inflight.inUse, 0);
    assert.deepEqual(incoming(), []);
  });

  test('a client that hangs up mid-DATA leaves no temp file and no reservation', async () => {
    const s = await openTransaction('127.0.3.4', 'gone@example.com');
    s.write(`From: a@budget.example\r\n\r\n${'g'.repeat(2 * 1024 * 1024)}`);
    await eventually(() => incoming().length === 1, 3000, 'spill');
    s.close();
    await eventually(() => incoming().length === 0 && h.app.services.inflight.inUse === 0, 3000, 'cleanup');
  });
});

test('temp files left by a crashed process are removed at start-up', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailshift-incoming-'));
  const dead = 4_000_000 + Math.floor(Math.random() * 190_000);
  assert.throws(() => process.kill(dead, 0));
  mkdirSync(join(dataDir, 'incoming'), { recursive: true });
  writeFileSync(join(dataDir, 'incoming', `${dead}-0123456789abcdef.eml`), 'half a message');
  const h = await startHarness({}, { dataDir });
  try {
    assert.equal(existsSync(join(dataDir, 'incoming', `${dead}-0123456789abcdef.eml`)), false);
  } finally {
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('spilled data has its own bound: past it the message is 452 4.3.1, nothing accepted, the file removed', async () => {
  const sink = await Sink.start();
  const h = await startHarness({ MAILSHIFT_MAX_SPILL_BYTES: String(2 * 1024 * 1024) });
  try {
    const creds = await h.instance('spill', [sink.relay]);
    const s = await SmtpSession.open(h.app.smtpPort, '127.0.4.1');
    await s.reply();
    await s.login(creds.smtp.username, creds.smtp.password);
    assert.match((await s.command('MAIL FROM:<news@spill.example>'))!, /^250 /);
    assert.match((await s.command('RCPT TO:<big@example.com>'))!, /^250 /);
    assert.match((await s.command('DATA'))!, /^354 /);
    s.write(message('news@spill.example', 'big@example.com', 'b'.repeat(3 * 1024 * 1024)));
    assert.match((await s.reply())!, /^452 4\.3\.1 /);
    s.close();
    assert.deepEqual(readdirSync(join(h.dataDir, 'incoming')), []);
    const small = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({ from: 'news@spill.example', to: 'small@example.com', subject: 's', text: 'fits' });
    assert.match(small.response, /^250 /);
  } finally {
    await h.close();
    await sink.close();
  }
});

test('a session that neither authenticates nor sends MAIL FROM in time is closed with 421 4.4.2', async () => {
  const h = await startHarness({ MAILSHIFT_SMTP_IDENTIFY_TIMEOUT_MS: '500' });
  try {
    const s = await SmtpSession.open(h.app.smtpPort, '127.0.5.1');
    assert.match((await s.reply())!, /^220 /);
    assert.match((await s.command('NOOP'))!, /^250 /);
    assert.match((await s.reply())!, /^421 4\.4\.2 No AUTH or MAIL FROM within 1 s/);
    await s.done;
  } finally {
    await h.close();
  }
});
