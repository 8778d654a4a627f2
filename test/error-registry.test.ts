import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { errorCodes, type ErrorCode } from '../src/core/errors.ts';
import { problemStatus } from '../src/http/problem-codes.ts';
import { smtpReplies } from '../src/smtp/reply-codes.ts';
import { feedbackServerDefaults, startFeedbackServer } from '../src/smtp/feedback-server.ts';
import { systemClock } from '../src/system-clock.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { injectApp, type InjectApp } from './helpers/inject.ts';
import { SmtpSession } from './helpers/smtp-session.ts';

/**
 * The error registry, checked as fastify checks its error codes against its docs: every
 * code has a title and a reply on both doors, the README lists exactly these codes with
 * exactly these replies, and a real SMTP server sends each pair as listed.
 */
const codes = Object.keys(errorCodes) as ErrorCode[];

/** Codes no SMTP door answers. Every other code must have a probe in `smtpProbes` below. */
const httpOnly: readonly ErrorCode[] = [
  'conflict',
  'invalid-request',
  'header-injection',
  'no-recipients',
  'idempotency-mismatch',
  'template-error',
  'reschedule-refused',
  'opt-out-refused',
  'invalid-state',
  'limit-reached',
];
/** Codes the HTTP API never answers (the README marks them; their HTTP status is still mapped). */
const smtpOnly: readonly ErrorCode[] = ['too-many-connections', 'idle-timeout', 'smtputf8-required'];

const sorted = (xs: Iterable<string>) => [...xs].sort();
const pair = (code: ErrorCode) => `${smtpReplies[code][0]} ${smtpReplies[code][1]}`;

describe('the registry and its two mappings', () => {
  test('every code has a title, an HTTP status and an SMTP reply; the mappings have no other keys', () => {
    assert.ok(codes.length > 0);
    for (const code of codes) {
      assert.match(code, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${code} is kebab-case`);
      assert.ok(errorCodes[code].title.trim().length > 0, `${code} has a title`);
    }
    assert.deepEqual(sorted(Object.keys(problemStatus)), sorted(codes));
    assert.deepEqual(sorted(Object.keys(smtpReplies)), sorted(codes));
  });

  test('HTTP statuses are client or server errors', () => {
    for (const code of codes) {
      const status = problemStatus[code];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    }
  });

  test('SMTP replies are 4xx/5xx with an RFC 3463 enhanced code of the same class', () => {
    for (const code of codes) {
      const [reply, enhanced] = smtpReplies[code];
      assert.ok(Number.isInteger(reply) && reply >= 400 && reply <= 559, `${code}: ${reply}`);
      const m = /^([45])\.([0-7])\.(\d{1,3})$/.exec(enhanced);
      assert.ok(m, `${code}: ${enhanced} is class.subject.detail with a known subject`);
      assert.equal(m[1], String(reply)[0], `${code}: ${reply} ${enhanced} have the same class`);
    }
  });

  test('every code is placed: answered by an SMTP door (and probed below) or listed as HTTP only', () => {
    const probed = Object.keys(smtpProbes);
    for (const code of codes) {
      const placed = [httpOnly.includes(code), probed.includes(code)].filter(Boolean).length;
      assert.equal(placed, 1, `${code} is in exactly one of httpOnly and smtpProbes`);
    }
    for (const code of [...httpOnly, ...probed, ...smtpOnly]) assert.ok(codes.includes(code as ErrorCode), `${code} is a registry code`);
    for (const code of smtpOnly) assert.ok(probed.includes(code), `${code}, SMTP only, is probed`);
  });
});

describe('the README lists every code with its replies', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n### Error codes\n');
  const end = readme.indexOf('\n#', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, { http: string; smtp: string; meaning: string }>();
  const malformed: string[] = [];
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const m = /^\| `([^`]+)` \| (\d{3}) \| (\d{3} [245]\.\d{1,3}\.\d{1,3}) \| (.+) \|$/.exec(line);
    if (!m) malformed.push(line);
    else {
      assert.ok(!rows.has(m[1]), `${m[1]} is listed once`);
      rows.set(m[1], { http: m[2], smtp: m[3], meaning: m[4] });
    }
  }

  test('there is a table of codes, and every row of it reads `code | HTTP | SMTP | meaning`', () => {
    assert.ok(start >= 0, 'README.md has a "### Error codes" section');
    assert.match(section, /\n\| code \| HTTP \| SMTP \| meaning \|\n/);
    assert.deepEqual(malformed, []);
  });

  test('it lists exactly the registry codes', () => {
    assert.deepEqual(sorted(rows.keys()), sorted(codes));
  });

  test('with the HTTP status and the SMTP reply of the tables', () => {
    for (const code of codes) {
      const row = rows.get(code);
      assert.ok(row, `${code} is listed`);
      assert.equal(row.http, String(problemStatus[code]), `${code}: HTTP`);
      assert.equal(row.smtp, pair(code), `${code}: SMTP`);
    }
  });

  test('marking the codes that only one door answers', () => {
    for (const code of codes) {
      const meaning = rows.get(code)?.meaning ?? '';
      assert.equal(meaning.includes('*HTTP only*'), httpOnly.includes(code), `${code}: *HTTP only*`);
      assert.equal(meaning.includes('*SMTP only*'), smtpOnly.includes(code), `${code}: *SMTP only*`);
    }
  });
});

// ---- through real SMTP servers ----

type Creds = { smtp: { username: string; password: string }; apiKey: string };

const maxMessageBytes = 20_000;
let h: Harness;
let creds: Creds;
/** An instance on an infrastructure that refuses From domains its customer has not verified. */
let strict: Creds;
let feedback: { port: number; close(): Promise<void>; failNext: boolean };
let sources = 0;
/** A fresh source address per session, so lockouts and caps of one probe never touch another. */
const source = () => `127.0.77.${++sources}`;

/** Every session a probe opens, closed after it: smtp-server's close waits for open sessions. */
const sessions: SmtpSession[] = [];
async function opened(port: number, from: string): Promise<SmtpSession> {
  const s = await SmtpSession.open(port, from);
  sessions.push(s);
  return s;
}

async function greeted(port: number, from = source()): Promise<SmtpSession> {
  const s = await opened(port, from);
  assert.match((await s.reply())!, /^220 /);
  return s;
}

async function loggedIn(): Promise<SmtpSession> {
  const s = await greeted(h.app.smtpPort);
  assert.match((await s.login(creds.smtp.username, creds.smtp.password))!, /^235 /);
  return s;
}

/** MAIL, RCPT, DATA, the message; the reply to the message. */
async function transaction(s: SmtpSession, raw: string, to = 'someone@example.com'): Promise<string | null> {
  assert.match((await s.command('MAIL FROM:<news@registry.example>'))!, /^250 /);
  assert.match((await s.command(`RCPT TO:<${to}>`))!, /^250 /);
  assert.match((await s.command('DATA'))!, /^354 /);
  return s.command(`${raw}\r\n.`);
}

const message = (body = 'hello') => `From: news@registry.example\r\nTo: someone@example.com\r\nSubject: registry\r\n\r\n${body}`;

/** One session that provokes the code; the reply lines that carry it. */
type Probe = { how: string; run: () => Promise<(string | null)[]> };

const smtpProbes: Partial<Record<ErrorCode, Probe[]>> = {
  'auth-required': [
    {
      how: 'MAIL FROM without AUTH from a network that may not relay',
      run: async () => {
        const s = await greeted(h.app.smtpPort);
        await s.command('EHLO client.example');
        return [await s.command('MAIL FROM:<news@registry.example>')];
      },
    },
  ],
  'auth-failed': [
    {
      how: 'AUTH with a wrong password',
      run: async () => {
        const s = await greeted(h.app.smtpPort);
        return [await s.login(creds.smtp.username, 'not-the-password')];
      },
    },
  ],
  'rate-limited': [
    {
      how: 'the third failed AUTH of a session',
      run: async () => {
        const s = await greeted(h.app.smtpPort);
        await s.login(creds.smtp.username, 'wrong-1');
        await s.command(`AUTH PLAIN ${Buffer.from(`\0${creds.smtp.username}\0wrong-2`).toString('base64')}`);
        const third = await s.command(`AUTH PLAIN ${Buffer.from(`\0${creds.smtp.username}\0wrong-3`).toString('base64')}`);
        await s.done;
        return [third];
      },
    },
    {
      how: 'feedback listener: more messages from one source than its rate',
      run: async () => {
        const s = await greeted(feedback.port);
        await s.command('EHLO mta.example');
        assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
        await s.command('RSET');
        return [await s.command('MAIL FROM:<>')];
      },
    },
  ],
  'invalid-address': [
    {
      how: 'MAIL FROM a localhost address, RCPT TO a bare IP',
      run: async () => {
        const s = await loggedIn();
        const sender = await s.command('MAIL FROM:<news@localhost>');
        assert.match((await s.command('MAIL FROM:<news@registry.example>'))!, /^250 /);
        return [sender, await s.command('RCPT TO:<someone@127.0.0.1>')];
      },
    },
  ],
  'smtputf8-required': [
    {
      how: 'RCPT TO a UTF-8 local part without SMTPUTF8',
      run: async () => {
        const s = await loggedIn();
        assert.match((await s.command('MAIL FROM:<news@registry.example>'))!, /^250 /);
        s.write(Buffer.from('RCPT TO:<m\u00fcller@example.com>\r\n', 'utf8'));
        return [await s.reply()];
      },
    },
  ],
  'too-many-recipients': [
    {
      how: 'the 1,001st RCPT (smtp-server refuses it itself)',
      run: async () => {
        const s = await loggedIn();
        assert.match((await s.command('MAIL FROM:<news@registry.example>'))!, /^250 /);
        s.write(Array.from({ length: 1001 }, (_, i) => `RCPT TO:<r${i}@example.com>\r\n`).join(''));
        const replies: (string | null)[] = [];
        for (let i = 0; i < 1001; i++) replies.push(await s.reply());
        assert.ok(
          replies.slice(0, 1000).every((r) => r?.startsWith('250 ')),
          'the first 1,000 are accepted',
        );
        return [replies[1000]];
      },
    },
    {
      how: 'feedback listener: one recipient more than its limit',
      run: async () => {
        const s = await greeted(feedback.port);
        await s.command('EHLO mta.example');
        assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
        assert.match((await s.command('RCPT TO:<a@bounces.example.net>'))!, /^250 /);
        assert.match((await s.command('RCPT TO:<b@bounces.example.net>'))!, /^250 /);
        return [await s.command('RCPT TO:<c@bounces.example.net>')];
      },
    },
  ],
  'message-too-large': [
    {
      how: 'MAIL FROM with a SIZE over the limit (smtp-server refuses it itself)',
      run: async () => {
        const s = await loggedIn();
        return [await s.command(`MAIL FROM:<news@registry.example> SIZE=${maxMessageBytes + 1}`)];
      },
    },
    {
      how: 'DATA over the limit (smtp-server refuses it itself)',
      run: async () => {
        const s = await loggedIn();
        const body = Array.from({ length: Math.ceil((maxMessageBytes * 1.5) / 100) }, () => 'x'.repeat(98)).join('\r\n');
        return [await transaction(s, message(body))];
      },
    },
  ],
  forbidden: [
    {
      how: 'DATA with a From domain the customer has not verified, on an infrastructure that refuses those',
      run: async () => {
        const s = await greeted(h.app.smtpPort);
        assert.match((await s.login(strict.smtp.username, strict.smtp.password))!, /^235 /);
        return [await transaction(s, message())];
      },
    },
  ],
  'malformed-message': [
    {
      how: 'DATA without a From header',
      run: async () => {
        const s = await loggedIn();
        return [await transaction(s, 'To: someone@example.com\r\nSubject: no sender\r\n\r\nhello')];
      },
    },
  ],
  'server-busy': [
    {
      how: 'MAIL FROM with the memory budget spent',
      run: async () => {
        const inflight = h.app.services.inflight;
        const held = inflight.limit - inflight.inUse;
        assert.ok(inflight.tryReserve(held));
        try {
          const s = await loggedIn();
          return [await s.command('MAIL FROM:<news@registry.example>')];
        } finally {
          inflight.release(held);
        }
      },
    },
  ],
  'too-many-connections': [
    {
      how: 'one connection past the per-address cap',
      run: async () => {
        const from = source();
        await Promise.all(Array.from({ length: 3 }, () => greeted(h.app.smtpPort, from)));
        const refused = await opened(h.app.smtpPort, from);
        const reply = await refused.reply();
        await refused.done;
        return [reply];
      },
    },
    {
      how: 'feedback listener: one connection past its per-address cap',
      run: async () => {
        const from = source();
        await Promise.all(Array.from({ length: 3 }, () => greeted(feedback.port, from)));
        const refused = await opened(feedback.port, from);
        const reply = await refused.reply();
        return [reply];
      },
    },
  ],
  'idle-timeout': [
    {
      how: 'neither AUTH nor MAIL FROM within the identify timeout',
      run: async () => {
        const quick = await startHarness({ MAILSHIFT_SMTP_IDENTIFY_TIMEOUT_MS: '300' });
        try {
          const s = await greeted(quick.app.smtpPort);
          const reply = await s.reply();
          await s.done;
          return [reply];
        } finally {
          await quick.close();
        }
      },
    },
  ],
  unavailable: [
    {
      how: 'the spool fails to commit the message',
      run: async () => {
        const acceptor = h.app.services.acceptor;
        const accept = acceptor.accept;
        acceptor.accept = async () => {
          throw new Error('the store went away');
        };
        try {
          const s = await loggedIn();
          return [await transaction(s, message())];
        } finally {
          acceptor.accept = accept;
        }
      },
    },
    {
      how: 'feedback listener: the report cannot be recorded',
      run: async () => {
        const s = await greeted(feedback.port);
        await s.command('EHLO mta.example');
        assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
        assert.match((await s.command('RCPT TO:<a@bounces.example.net>'))!, /^250 /);
        assert.match((await s.command('DATA'))!, /^354 /);
        feedback.failNext = true;
        return [await s.command('From: mailer-daemon@mta.example\r\nSubject: bounce\r\n\r\nhello\r\n.')];
      },
    },
  ],
  'not-found': [
    {
      how: 'feedback listener: RCPT TO an address that is not ours',
      run: async () => {
        const s = await greeted(feedback.port);
        await s.command('EHLO mta.example');
        assert.match((await s.command('MAIL FROM:<>'))!, /^250 /);
        return [await s.command('RCPT TO:<stranger@elsewhere.example>')];
      },
    },
  ],
};

const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('through real SMTP servers, each code is answered with the pair of the table', () => {
  before(async () => {
    h = await startHarness({ MAILSHIFT_MAX_MESSAGE_SIZE: String(maxMessageBytes), MAILSHIFT_SMTP_MAX_CLIENTS_PER_ADDRESS: '3' });
    creds = await h.instance('registry', ['127.0.0.1:9']);
    strict = await h.instance('registry-strict', ['127.0.0.1:9'], { infrastructure: { unverifiedFrom: 'refuse' } });
    const state = { failNext: false };
    const server = await startFeedbackServer(
      {
        ...feedbackServerDefaults,
        host: '127.0.0.1',
        port: 0,
        hostname: 'mx.bounces.example.net',
        greetingDelayMs: 0,
        maxRecipients: 2,
        maxClientsPerAddress: 3,
        messageRate: { count: 1, perMs: 60_000 },
      },
      {
        accepts: (recipient) => recipient.endsWith('@bounces.example.net'),
        async received() {
          if (state.failNext) {
            state.failNext = false;
            throw new Error('store unavailable');
          }
        },
      },
      systemClock,
      pino({ level: 'silent' }),
    );
    feedback = Object.assign(state, { port: server.port, close: server.close });
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });
  after(async () => {
    await feedback?.close();
    await h?.close();
  });

  for (const [code, probes] of Object.entries(smtpProbes) as [ErrorCode, Probe[]][]) {
    for (const probe of probes) {
      test(`${code} (${pair(code)}): ${probe.how}`, async () => {
        const lines = await probe.run();
        assert.ok(lines.length > 0);
        // The table's pair, then the text: not smtp-server's code for the reply, nor a second code.
        const expected = new RegExp(`^${smtpReplies[code][0]} ${escaped(smtpReplies[code][1])} (?![245]\\.\\d{1,3}\\.\\d{1,3} )\\S`);
        for (const line of lines) assert.match(line ?? '(no reply)', expected);
      });
    }
  }
});

// ---- through the HTTP door, without sockets ----

describe('through the HTTP API, a problem carries the code, its status and its title', () => {
  let ia: InjectApp;
  let key: string;
  before(async () => {
    ia = await injectApp({ MAILSHIFT_MAX_MESSAGE_SIZE: String(maxMessageBytes), MAILSHIFT_MAX_WEBHOOKS: '1' });
    key = (await ia.instance('registry-http')).apiKey;
  });
  after(async () => ia?.close());

  const send = (body: unknown, headers?: Record<string, string>) => ia.api(key, 'POST', '/api/v1/messages', body, headers);
  const good = { from: 'news@registry.example', to: 'someone@example.com', subject: 'hi', text: 'hello' };

  const cases: { code: ErrorCode; how: string; run: () => Promise<{ status: number; headers: Record<string, unknown>; body: any }> }[] = [
    { code: 'auth-required', how: 'no Authorization', run: () => ia.call('POST', '/api/v1/messages', good) },
    { code: 'auth-failed', how: 'a wrong API key', run: () => ia.api('ms_not-a-key', 'POST', '/api/v1/messages', good) },
    { code: 'not-found', how: 'an unknown route', run: () => ia.call('GET', '/api/v1/no-such-route') },
    { code: 'invalid-request', how: 'a body that is not JSON', run: () => send('{"from":') },
    { code: 'invalid-address', how: 'a bare IP as recipient', run: () => send({ ...good, to: 'someone@127.0.0.1' }) },
    { code: 'header-injection', how: 'a line break in the subject', run: () => send({ ...good, subject: 'hi\r\nBcc: victim@example.com' }) },
    {
      code: 'malformed-message',
      how: 'a raw message without From',
      run: () => send({ raw: 'To: someone@example.com\r\nSubject: s\r\n\r\nhello', recipients: ['someone@example.com'] }),
    },
    { code: 'no-recipients', how: 'a raw message with nobody to send to', run: () => send({ raw: 'From: news@registry.example\r\nSubject: s\r\n\r\nhello' }) },
    { code: 'message-too-large', how: 'a body past the route limit', run: () => send({ ...good, text: 'x'.repeat(maxMessageBytes * 2 + 65536) }) },
    {
      code: 'idempotency-mismatch',
      how: 'an Idempotency-Key reused with another body',
      run: async () => {
        assert.equal((await send(good, { 'idempotency-key': 'registry-1' })).status, 202);
        return send({ ...good, text: 'other' }, { 'idempotency-key': 'registry-1' });
      },
    },
    {
      code: 'conflict',
      how: 'a customer name that is taken',
      run: async () => {
        const customer = { name: 'registry-twice', contacts: [{ email: 'ops@registry.example' }] };
        assert.equal((await ia.admin('POST', '/api/admin/v1/customers', customer)).status, 201);
        return ia.admin('POST', '/api/admin/v1/customers', customer);
      },
    },
    {
      code: 'server-busy',
      how: 'a message with the memory budget spent',
      run: async () => {
        const inflight = ia.composed.services.inflight;
        const held = inflight.limit - inflight.inUse;
        assert.ok(inflight.tryReserve(held));
        try {
          return await send(good);
        } finally {
          inflight.release(held);
        }
      },
    },
    {
      code: 'rate-limited',
      how: 'wrong API keys from one address until it is locked',
      run: async () => {
        const attempt = async () => {
          const res = await ia.app.inject({
            method: 'GET',
            url: '/api/v1/suppressions',
            remoteAddress: '127.0.88.1',
            headers: { authorization: 'Bearer ms_wrong' },
          });
          return { status: res.statusCode, headers: res.headers, body: JSON.parse(res.body) };
        };
        for (let i = 0; i < 30; i++) {
          const res = await attempt();
          if (res.status !== 401) return res;
        }
        return attempt();
      },
    },
  ];

  for (const c of cases) {
    test(`${c.code} (${problemStatus[c.code]}): ${c.how}`, async () => {
      const res = await c.run();
      assert.equal(res.body?.code, c.code, JSON.stringify(res.body));
      assert.equal(res.status, problemStatus[c.code]);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.body.type, `urn:mailshift:problem:${c.code}`);
      assert.equal(res.body.title, errorCodes[c.code].title);
      assert.equal(res.body.status, problemStatus[c.code]);
      assert.equal(typeof res.body.detail, 'string');
    });
  }

  test('an unexpected failure is 500 internal, and its cause stays in the log', async () => {
    const acceptor = ia.composed.services.acceptor;
    const accept = acceptor.accept;
    acceptor.accept = async () => {
      throw new Error('disk on fire at /var/lib/secret-path');
    };
    try {
      const res = await send(good);
      assert.equal(res.status, 500);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(
        { ...res.body, detail: undefined },
        { type: 'urn:mailshift:problem:internal', title: 'Internal error', status: 500, code: 'internal', detail: undefined },
      );
      assert.ok(!res.text.includes('secret-path'));
    } finally {
      acceptor.accept = accept;
    }
  });
});
