import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { errorCodes } from '../src/core/errors.ts';
import { Sink } from './helpers/sink.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { testDatabases } from './helpers/databases.ts';
import { bearer, httpFrom } from './helpers/http-from.ts';

/** How long each database's fuzzing runs; the property stops there and counts what it ran. */
const fuzzMs = Number(process.env.MAILSHIFT_FUZZ_MS ?? 4_000);

const hostileConstants = [
  '',
  '\u0000',
  'a\u0000@example.com',
  'news@fuzz.example',
  'Name <news@fuzz.example>',
  '"Quoted, Name" <news@fuzz.example>',
  'x@127.0.0.1',
  'x@[127.0.0.1]',
  'x@[IPv6:::1]',
  'x@localhost',
  'x@intranet',
  'ü@bücher.example',
  'пример@пример.example',
  'a@example.com\r\nBcc: victim@example.com',
  'Subject\r\nX-Injected: yes',
  'line\nbreak',
  'tab\there',
  '\r\n.\r\n',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u2066RTL',
  '😀'.repeat(50),
  '=?utf-8?b?' + Buffer.from('encoded').toString('base64') + '?=',
  '{{ include "data/admin-token" }}',
  '../../../../etc/passwd',
  'a'.repeat(1000),
  'b'.repeat(300_000),
  'x@' + 'd'.repeat(300) + '.example',
  '%00',
  'null',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...hostileConstants) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.emailAddress() },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 10 }), fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u000b'))
      .map(([a, b]) => a + b + a),
  },
);

/** Some value of the wrong type, for any field. */
const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 2 }));
const field = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: wrongType });
const addresses = fc.array(hostileString, { maxLength: 5 });

const jsonMessage = fc.record(
  {
    from: field(hostileString),
    to: field(addresses),
    cc: field(addresses),
    bcc: field(addresses),
    replyTo: field(hostileString),
    subject: field(hostileString),
    text: field(hostileString),
    html: field(hostileString),
    headers: field(fc.dictionary(hostileString, hostileString, { maxKeys: 4 })),
    attachments: field(
      fc.array(
        fc.record(
          { filename: field(hostileString), content: field(fc.oneof(fc.base64String({ maxLength: 200 }), hostileString)), contentType: field(hostileString) },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    unexpected: hostileString,
  },
  { requiredKeys: [] },
);

const headerLine = fc
  .tuple(fc.constantFrom('From', 'To', 'Cc', 'Subject', 'Message-ID', 'Received', 'DKIM-Signature', 'Return-Path', 'Content-Type', 'X-Fuzz'), hostileString)
  .map(([k, v]) => `${k}: ${v}`);
const rawMime = fc
  .tuple(fc.array(headerLine, { maxLength: 8 }), fc.constantFrom('\r\n', '\n', ''), hostileString)
  .map(([headers, sep, body]) => headers.join('\r\n') + sep + '\r\n' + body);
const rawMessage = fc.record(
  { raw: field(fc.oneof(rawMime, hostileString)), mailFrom: field(hostileString), recipients: field(addresses) },
  { requiredKeys: ['raw'] },
);

/** Nesting of any depth around a message, in a field or as the whole body. */
const nested = fc
  .tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom('[', '{"a":'), fc.constantFrom('headers', 'to', 'subject', ''))
  .map(([depth, open, where]) => {
    const close = open === '[' ? ']' : '}';
    const deep = open.repeat(depth) + '"v"' + close.repeat(depth);
    return where === '' ? deep : `{"from":"news@fuzz.example","to":["a@example.com"],"${where}":${deep}}`;
  });

/** A good message with a few fields made hostile: most of these should be accepted. */
const goodMessage = { from: 'news@fuzz.example', to: ['a@example.com'], subject: 'Hello', text: 'body' };
const sometimes = <T>(good: T, hostile: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: hostile });
const mutated = fc
  .record(
    {
      from: sometimes(goodMessage.from, hostileString),
      to: sometimes(goodMessage.to, fc.array(fc.oneof(fc.emailAddress(), hostileString), { minLength: 1, maxLength: 3 })),
      subject: sometimes('Hello', hostileString),
      text: hostileString,
      html: hostileString,
      headers: fc.dictionary(fc.constantFrom('X-Campaign', 'X-Tag', 'Received', 'Return-Path', 'DKIM-Signature', 'Bcc', 'X-A\r\nB'), hostileString, {
        maxKeys: 2,
      }),
      attachments: fc.array(
        fc.record({
          filename: hostileString,
          content: fc.base64String({ maxLength: 200 }),
          contentType: fc.constantFrom('text/plain', 'application/octet-stream', 'x\r\ny'),
        }),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  )
  .map((fields) => ({ ...goodMessage, ...fields }));

const body: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: mutated.map((m) => JSON.stringify(m)) },
  { weight: 3, arbitrary: jsonMessage.map((m) => JSON.stringify(m)) },
  { weight: 3, arbitrary: rawMessage.map((m) => JSON.stringify(m)) },
  { weight: 2, arbitrary: nested },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);

const idempotencyKey = fc.option(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 300 }).filter((k) => /^[\x21-\x7e]+$/.test(k)),
  { nil: undefined },
);
const knownCodes = new Set(Object.keys(errorCodes));

for (const kind of testDatabases()) {
  describe(`fuzzing POST /api/v1/messages (${kind.name})`, { skip: kind.skip }, () => {
    let h: Harness;
    let sink: Sink;
    let apiKey: string;
    let drop: () => Promise<void>;

    before(async () => {
      const db = await kind.create();
      drop = db.drop;
      sink = await Sink.start();
      h = await startHarness(db.env);
      apiKey = (await h.instance('fuzz', [sink.relay])).apiKey;
    });
    after(async () => {
      await h.close();
      await sink.close();
      await drop();
    });

    test('every answer is 202 or a 4xx problem+json with a stable code, never 5xx; good mail goes through afterwards', async () => {
      const statuses = new Map<number, number>();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(body, idempotencyKey, async (payload, key) => {
          runs++;
          const headers = { ...bearer(apiKey), ...(key === undefined ? {} : { 'idempotency-key': key }) };
          const res = await httpFrom('127.0.0.1', `${h.url}/api/v1/messages`, 'POST', { headers, body: payload });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 202) return;
          assert.ok(res.status >= 400 && res.status < 500, `answered ${res.status}: ${JSON.stringify(res.body)}`);
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
          assert.ok(knownCodes.has(res.body.code), `stable code, got ${JSON.stringify(res.body)}`);
          assert.equal(res.body.status, res.status);
        }),
        { interruptAfterTimeLimit: fuzzMs, numRuns: 100_000 },
      );
      assert.ok(runs >= 50, `only ${runs} runs`);
      assert.ok(statuses.has(202) && statuses.has(400), `both outcomes seen: ${JSON.stringify([...statuses])}`);

      const to = `after-fuzz@example.com`;
      const res = await h.api(apiKey, 'POST', '/api/v1/messages', { from: 'news@fuzz.example', to: [to], subject: 'After', text: 'still fine' });
      assert.equal(res.status, 202);
      await eventually(() => sink.messages.some((m) => m.recipients.includes(to)), 10_000, 'the good message to be delivered');
      assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    });
  });
}
