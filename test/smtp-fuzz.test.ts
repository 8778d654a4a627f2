import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sink } from './helpers/sink.ts';
import { SmtpSession } from './helpers/smtp-session.ts';
import { eventually, smtpClient, startHarness, type Harness } from './helpers/harness.ts';

/**
 * Random and hostile command lines against a real server over sockets: whatever arrives,
 * every answer is a well-formed SMTP reply, the server stays up, and a good message from a
 * real client still goes through afterwards. Bounded in time, not in runs.
 */
let h: Harness;
let sink: Sink;
let creds: { smtp: { username: string; password: string } };
before(async () => {
  sink = await Sink.start();
  h = await startHarness();
  creds = await h.instance('fuzzed', [sink.relay]);
});
after(async () => {
  await h.close();
  await sink.close();
});

const verbs = [
  'EHLO',
  'HELO',
  'LHLO',
  'MAIL FROM:',
  'RCPT TO:',
  'DATA',
  'BDAT',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY',
  'EXPN',
  'HELP',
  'AUTH',
  'AUTH PLAIN',
  'AUTH LOGIN',
  'AUTH CRAM-MD5',
  'XCLIENT',
  'XFORWARD',
  'STARTTLS',
  'WIZ',
  'SHELL',
  'KILL',
];
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const text = (max: number) => fc.string({ unit: 'binary', maxLength: max }).map((s) => Buffer.from(s, 'utf8'));
const hostile = fc.constantFrom(
  '\0',
  '\r',
  '\n',
  '\r\n',
  '\r\n.\r\n',
  '..',
  ' ',
  ':',
  '<',
  '>',
  '@',
  '=',
  '\x1b[31m',
  '\xff\xfe',
  '%n%s',
  '\u2028',
  'SMTPUTF8',
  'SIZE=99999999999',
  'BODY=8BITMIME',
);

const line = fc.oneof(
  // A known verb with random, 8-bit or hostile arguments.
  fc
    .tuple(
      fc.constantFrom(...verbs),
      fc.array(
        fc.oneof(
          text(40),
          bytes(40),
          hostile.map((s) => Buffer.from(s, 'latin1')),
        ),
        { maxLength: 4 },
      ),
    )
    .map(([verb, args]) => Buffer.concat([Buffer.from(verb + ' '), ...args])),
  // A well-formed envelope, sometimes with odd addresses.
  fc
    .tuple(
      fc.constantFrom('MAIL FROM:', 'RCPT TO:'),
      fc.oneof(fc.emailAddress(), fc.string({ maxLength: 30 })),
      fc.constantFrom('', ' SMTPUTF8', ' SIZE=100', ' SIZE=x', ' BODY=7BIT'),
    )
    .map(([v, a, p]) => Buffer.from(`${v}<${a}>${p}`, 'utf8')),
  // AUTH blobs: base64 of anything, with NULs where PLAIN keeps its fields.
  fc.tuple(fc.constantFrom('PLAIN', 'LOGIN'), bytes(300)).map(([m, b]) => Buffer.from(`AUTH ${m} ${b.toString('base64')}`)),
  // Long lines, past the command length limit.
  fc.tuple(fc.constantFrom('EHLO ', 'MAIL FROM:<', 'X', 'AUTH PLAIN '), fc.integer({ min: 100, max: 40_000 })).map(([p, n]) => Buffer.from(p + 'a'.repeat(n))),
  // Plain binary garbage.
  bytes(200),
);
const separator = fc.constantFrom('\r\n', '\r\n', '\n', '\r', '', '\0');
const session = fc.record({
  early: fc.boolean(),
  lines: fc.array(fc.tuple(line, separator), { minLength: 1, maxLength: 8 }),
});

let sources = 0;
function nextSource(): string {
  const n = sources++;
  return `127.20.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`;
}

/** Runs one session; returns what was wrong with the server's answers (nothing, ideally). */
async function run(spec: { early: boolean; lines: [Buffer, string][] }): Promise<string[]> {
  const s = await SmtpSession.open(h.app.smtpPort, nextSource());
  try {
    if (!spec.early) await s.reply(3000);
    s.write(Buffer.concat(spec.lines.flatMap(([l, sep]) => [l, Buffer.from(sep, 'latin1')]).concat(Buffer.from('\r\n'))));
    // Wait until the server has said all it will: closed, or quiet for a while.
    let seen = -1;
    while (!s.closed && seen !== s.replies.length) {
      seen = s.replies.length;
      await new Promise((r) => setTimeout(r, 150));
    }
    const problems = s.malformed.map((m) => `malformed line ${JSON.stringify(m.slice(0, 120))}`);
    for (const reply of s.replies) {
      // After STARTTLS the server speaks TLS; there is nothing more to read as SMTP.
      if (/^220 .*TLS/.test(reply)) break;
      for (const l of reply.split('\r\n')) {
        if (!/^[2-5]\d\d[ -][\x20-\x7e]*$/.test(l)) problems.push(`bad reply line ${JSON.stringify(l.slice(0, 120))}`);
        // An enhanced code, where there is one, is of the reply's class (and there is only one).
        const enhanced = /^(\d)\d\d[ -]([245])\.\d{1,3}\.\d{1,3} (.*)$/.exec(l);
        if (enhanced && (enhanced[1] !== enhanced[2] || /^[245]\.\d{1,3}\.\d{1,3} /.test(enhanced[3])))
          problems.push(`bad enhanced code: ${JSON.stringify(l.slice(0, 120))}`);
      }
    }
    return problems;
  } finally {
    s.close();
  }
}

test('random and hostile SMTP input: well-formed replies only, the server stays up, good mail still flows', { timeout: 60_000 }, async (t) => {
  const outcome = await fc.check(
    fc.asyncProperty(fc.array(session, { minLength: 3, maxLength: 10 }), async (specs) => {
      const problems = (await Promise.all(specs.map(run))).flat();
      if (problems.length > 0) throw new Error(problems.join('\n'));
      // Still up: a new connection is greeted.
      const probe = await SmtpSession.open(h.app.smtpPort, nextSource());
      assert.match((await probe.reply(3000)) ?? '', /^220 /);
      probe.close();
    }),
    { numRuns: 200, interruptAfterTimeLimit: 6000, markInterruptAsFailure: false },
  );
  // A short report: the input lines cut to 100 bytes each, rather than megabytes of them.
  if (outcome.failed) {
    const input = (outcome.counterexample?.[0] ?? []).map((spec) => ({
      early: spec.early,
      lines: spec.lines.map(
        ([l, sep]) => JSON.stringify(l.subarray(0, 100).toString('latin1')) + (l.length > 100 ? `…(${l.length} bytes)` : '') + JSON.stringify(sep),
      ),
    }));
    assert.fail(
      `seed ${outcome.seed}: ${String((outcome.errorInstance as Error)?.message ?? outcome.errorInstance)}\ninput: ${JSON.stringify(input, null, 1)}`,
    );
  }
  t.diagnostic(`${outcome.numRuns} runs, ${sources} sessions, seed ${outcome.seed}`);
  assert.ok(sources > 20, `a fair amount of input was tried (${sources} sessions)`);
  const info = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({
    from: 'news@fuzzed.example',
    to: 'after-fuzz@example.com',
    subject: 'after',
    text: 'still fine',
  });
  assert.match(info.response, /^250 2\.6\.0 /);
  await eventually(() => sink.messages.some((m) => m.recipients.includes('after-fuzz@example.com')), 5000, 'delivery after the fuzzing');
  const health = await fetch(`${h.url}/healthz`);
  assert.equal(health.status, 200);
});
