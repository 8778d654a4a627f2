import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Sink } from './helpers/sink.ts';
import { adminToken, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { bearer, httpFrom, type HttpAnswer } from './helpers/http-from.ts';
import { testDatabases } from './helpers/databases.ts';

const metricsToken = 'scrape-7c41e09ab25d3f68a1b4';
type Credentials = { smtp: { username: string; password: string }; apiKey: string };

function assertProblem(res: HttpAnswer, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.body.code, code);
}

/** Tries `attempt` until it is answered 429 (at most `max` times); returns that answer and the tries it took. */
async function untilLocked(attempt: (i: number) => Promise<HttpAnswer>, max = 40): Promise<{ res: HttpAnswer; tries: number }> {
  for (let i = 1; i <= max; i++) {
    const res = await attempt(i);
    if (res.status === 429) return { res, tries: i };
    assert.equal(res.status, 401, `try ${i} is refused as a wrong credential`);
  }
  throw new Error(`still not locked after ${max} tries`);
}

function assertLocked(res: HttpAnswer): void {
  assertProblem(res, 429, 'rate-limited');
  const seconds = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 900, `Retry-After ${res.headers['retry-after']}`);
}

describe('HTTP door: brute force, sessions, metrics, body limits', () => {
  let h: Harness;
  let sink: Sink;
  let victim: Credentials;
  let good: Credentials;
  let sent = 0;

  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_METRICS_TOKEN: metricsToken });
    victim = await h.instance('victim', [sink.relay]);
    good = await h.instance('good', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  /** A good message from another instance, at another address, is accepted and delivered promptly. */
  async function goodMessageGoesThrough(source: string): Promise<void> {
    const to = `fine${++sent}@example.com`;
    const res = await httpFrom(source, `${h.url}/api/v1/messages`, 'POST', {
      headers: bearer(good.apiKey),
      body: { from: 'news@good.example', to: [to], subject: 'Still here', text: 'hello' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await eventually(() => sink.messages.some((m) => m.recipients.includes(to)), 5_000, 'the good message to be delivered');
  }

  test('wrong API keys from one address end in 429 with Retry-After; the right key is refused there while locked', async () => {
    const attacker = '127.0.0.10';
    const wrong = (i: number) => `ms_${i.toString(16).padStart(12, '0')}_${'x'.repeat(32)}`;
    const { res, tries } = await untilLocked((i) => httpFrom(attacker, `${h.url}/api/v1/messages/nope`, 'GET', { headers: bearer(wrong(i)) }));
    assertLocked(res);
    assert.ok(tries <= 12, `locked after ${tries} tries`);
    // Locked before the credential is looked at: the victim's real key gets no answer but 429.
    assertLocked(
      await httpFrom(attacker, `${h.url}/api/v1/messages`, 'POST', {
        headers: bearer(victim.apiKey),
        body: { from: 'a@victim.example', to: ['b@example.com'], subject: 's', text: 't' },
      }),
    );
    await goodMessageGoesThrough('127.0.0.11');
  });

  test('guesses at one API key from many addresses lock that key for them, not for its owner or the other keys', async () => {
    const lookup = /^ms_([0-9a-f]{12})_/.exec(victim.apiKey)![1];
    let locked: HttpAnswer | undefined;
    const guessers: string[] = [];
    for (let source = 20; source < 30 && !locked; source++) {
      guessers.push(`127.0.0.${source}`);
      for (let i = 0; i < 5 && !locked; i++) {
        const res = await httpFrom(`127.0.0.${source}`, `${h.url}/api/v1/upgrade/status`, 'GET', {
          headers: bearer(`ms_${lookup}_${'guess'.repeat(4)}${source}${i}`),
        });
        if (res.status === 429) locked = res;
        else assert.equal(res.status, 401);
      }
    }
    assert.ok(locked, 'the key locks');
    assertLocked(locked);
    // Against every address that guessed, even the right key is refused; its owner, from an
    // address that never failed, is not shut out.
    for (const guesser of guessers) assertLocked(await httpFrom(guesser, `${h.url}/api/v1/upgrade/status`, 'GET', { headers: bearer(victim.apiKey) }));
    assert.equal((await httpFrom('127.0.0.30', `${h.url}/api/v1/upgrade/status`, 'GET', { headers: bearer(victim.apiKey) })).status, 200);
    await goodMessageGoesThrough('127.0.0.30');
  });

  test('wrong admin tokens end in 429; the right token is refused from that address while locked, not from others', async () => {
    const attacker = '127.0.0.40';
    const { res } = await untilLocked((i) => httpFrom(attacker, `${h.url}/api/admin/v1/instances`, 'GET', { headers: bearer(`not-the-admin-token-${i}`) }));
    assertLocked(res);
    assertLocked(await httpFrom(attacker, `${h.url}/api/admin/v1/instances`, 'GET', { headers: bearer(adminToken) }));
    // The console's read routes and /metrics are the same door.
    assertLocked(await httpFrom(attacker, `${h.url}/api/admin/v1/queue/domains`, 'GET', { headers: bearer(adminToken) }));
    assertLocked(await httpFrom(attacker, `${h.url}/metrics`, 'GET', { headers: bearer(adminToken) }));
    assert.equal((await httpFrom('127.0.0.41', `${h.url}/api/admin/v1/instances`, 'GET', { headers: bearer(adminToken) })).status, 200);
    await goodMessageGoesThrough('127.0.0.41');
  });

  test('guessing the admin token from a few addresses does not lock the operator out elsewhere', async () => {
    for (const source of ['127.0.0.160', '127.0.0.161']) {
      for (let i = 0; i < 9; i++)
        assert.equal((await httpFrom(source, `${h.url}/metrics`, 'GET', { headers: bearer(`guess-of-the-token-${source}-${i}`) })).status, 401);
    }
    for (let i = 0; i < 4; i++) await httpFrom('127.0.0.162', `${h.url}/metrics`, 'GET', { headers: bearer(`guess-of-the-token-162-${i}`) });
    assertLocked(await httpFrom('127.0.0.161', `${h.url}/api/admin/v1/queue`, 'GET', { headers: bearer(adminToken) }));
    assert.equal((await httpFrom('127.0.0.163', `${h.url}/api/admin/v1/queue`, 'GET', { headers: bearer(adminToken) })).status, 200);
  });

  test('wrong console sign-ins end in 429; the right token cannot sign in from there while locked', async () => {
    const attacker = '127.0.0.50';
    const { res } = await untilLocked((i) => httpFrom(attacker, `${h.url}/api/session`, 'POST', { body: { token: `guess-${i}` } }));
    assertLocked(res);
    const right = await httpFrom(attacker, `${h.url}/api/session`, 'POST', { body: { token: adminToken } });
    assertLocked(right);
    assert.equal(right.headers['set-cookie'], undefined, 'no session is given');
    await goodMessageGoesThrough('127.0.0.51');
  });

  test('failed credentials are counted in /metrics', async () => {
    const res = await httpFrom('127.0.0.60', `${h.url}/metrics`, 'GET', { headers: bearer(metricsToken) });
    assert.equal(res.status, 200);
    for (const door of ['api', 'admin', 'console']) {
      const m = new RegExp(`mailshift_auth_failures_total\\{door="${door}",node="[^"]+"\\} (\\d+)`).exec(res.body);
      assert.ok(m && Number(m[1]) >= 10, `failures at the ${door} door: ${m?.[1]}`);
    }
    assert.match(res.body, /mailshift_auth_rate_limited_total\{door="api",scope="source",node="[^"]+"\} \d+/);
  });

  test('/metrics needs the admin or the scrape token; /healthz stays open', async () => {
    // Fresh addresses each: one that failed may not try the admin account while it is locked
    // (earlier tests locked it), and that is the point of the lock.
    const source = '127.0.0.61';
    assertProblem(await httpFrom(source, `${h.url}/metrics`, 'GET'), 401, 'auth-required');
    assertProblem(await httpFrom('127.0.0.64', `${h.url}/metrics`, 'GET', { headers: bearer('wrong-token') }), 401, 'auth-failed');
    assertProblem(await httpFrom('127.0.0.65', `${h.url}/metrics`, 'GET', { headers: bearer(good.apiKey) }), 401, 'auth-failed');
    for (const token of [adminToken, metricsToken]) {
      const res = await httpFrom(source, `${h.url}/metrics`, 'GET', { headers: bearer(token) });
      assert.equal(res.status, 200);
      assert.match(res.body, /mailshift_messages_accepted_total\{instance="good"/);
    }
    assert.equal((await httpFrom(source, `${h.url}/healthz`, 'GET')).status, 200);
  });

  // Two nodes share one PostgreSQL database (a SQLite spool belongs to one process).
  const shared = testDatabases().find((d) => d.name === 'postgres')!;
  test('logging out revokes the session: the same cookie is refused afterwards, on another node too', { skip: shared.skip }, async () => {
    const database = await shared.create();
    const node1 = await startHarness(database.env);
    const source = '127.0.0.70';
    const signIn = await httpFrom(source, `${node1.url}/api/session`, 'POST', { body: { token: adminToken } });
    assert.equal(signIn.status, 200);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0];
    const withCookie = { cookie };
    const node2 = await startHarness(database.env);
    try {
      assert.equal((await httpFrom(source, `${node1.url}/api/session`, 'GET', { headers: withCookie })).status, 200);
      assert.equal((await httpFrom(source, `${node2.url}/api/admin/v1/instances`, 'GET', { headers: withCookie })).status, 200);
      assert.equal((await httpFrom(source, `${node1.url}/api/session`, 'DELETE', { headers: withCookie })).status, 204);
      assertProblem(await httpFrom(source, `${node1.url}/api/session`, 'GET', { headers: withCookie }), 401, 'auth-required');
      assertProblem(await httpFrom(source, `${node1.url}/api/admin/v1/instances`, 'GET', { headers: withCookie }), 401, 'auth-required');
      assertProblem(await httpFrom(source, `${node2.url}/api/admin/v1/instances`, 'GET', { headers: withCookie }), 401, 'auth-required');
      assertProblem(await httpFrom(source, `${node2.url}/api/admin/v1/delivery/timeline`, 'GET', { headers: withCookie }), 401, 'auth-required');
      // A forged cookie of the right shape is refused as well.
      const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      assertProblem(await httpFrom(source, `${node1.url}/api/session`, 'GET', { headers: { cookie: forged } }), 401, 'auth-required');
    } finally {
      await node2.close();
      await node1.close();
      await database.drop();
    }
  });

  test('small JSON routes refuse oversized bodies with 413 problem+json; messages keep their own limit', async () => {
    const source = '127.0.0.80';
    const big = 'x'.repeat(100 * 1024);
    assertProblem(
      await httpFrom(source, `${h.url}/api/admin/v1/customers`, 'POST', {
        headers: bearer(adminToken),
        body: { name: 'big', contacts: [{ email: 'a@b.example', note: big }] },
      }),
      413,
      'message-too-large',
    );
    assertProblem(
      await httpFrom(source, `${h.url}/api/v1/suppressions`, 'POST', { headers: bearer(good.apiKey), body: { address: 'a@example.com', reason: big } }),
      413,
      'message-too-large',
    );
    assertProblem(await httpFrom(source, `${h.url}/api/session`, 'POST', { body: { token: big } }), 413, 'message-too-large');
    const text = 'y'.repeat(2 * 1024 * 1024);
    const res = await httpFrom(source, `${h.url}/api/v1/messages`, 'POST', {
      headers: bearer(good.apiKey),
      body: { from: 'news@good.example', to: ['large@example.com'], subject: 'Large', text },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  test('deeply nested JSON is 400, not 500, with an Idempotency-Key too', async () => {
    const source = '127.0.0.81';
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const headers = { ...bearer(good.apiKey), 'idempotency-key': 'deep-1' };
    const bodies = [
      `{"from":"news@good.example","to":["x@example.com"],"headers":${deep(5000)}}`,
      '['.repeat(100_000) + ']'.repeat(100_000),
      `{"from":"news@good.example","to":["x@example.com"],"subject":"s","text":"t","extra":${deep(40)}}`,
    ];
    for (const body of bodies) {
      const res = await httpFrom(source, `${h.url}/api/v1/messages`, 'POST', { headers, body });
      assertProblem(res, 400, 'invalid-request');
      assert.match(res.body.detail, /nested deeper than 32/);
    }
    assertProblem(
      await httpFrom(source, `${h.url}/api/admin/v1/customers`, 'POST', { headers: bearer(adminToken), body: `{"name":"n","contacts":${deep(1000)}}` }),
      400,
      'invalid-request',
    );
    // Malformed JSON is 400 as well.
    assertProblem(await httpFrom(source, `${h.url}/api/v1/messages`, 'POST', { headers, body: '{"from":' }), 400, 'invalid-request');
    await goodMessageGoesThrough(source);
  });
});

describe('HTTP bodies are bounded by the in-flight budget', () => {
  let h: Harness;
  let sink: Sink;
  let creds: Credentials;

  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_MAX_INFLIGHT_BYTES: String(1024 * 1024) });
    creds = await h.instance('bulk', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('with the budget held by a slow upload, a second large message is 503 server-busy with Retry-After; small ones and later ones go through', async () => {
    const body = Buffer.from(JSON.stringify({ from: 'news@bulk.example', to: ['slow@example.com'], subject: 'Slow', text: 'z'.repeat(700 * 1024) }));
    // A client that sends its headers and half its body, then stalls: its bytes stay reserved.
    const slow = new Promise<number>((resolve, reject) => {
      const req = request(
        `${h.url}/api/v1/messages`,
        { method: 'POST', agent: false, headers: { ...bearer(creds.apiKey), 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, body.length / 2));
      setTimeout(() => req.end(body.subarray(body.length / 2)), 4_000);
    });
    await eventually(() => h.app.services.inflight.inUse >= body.length, 3_000, 'the slow upload to reserve its bytes');

    const second = await httpFrom('127.0.0.2', `${h.url}/api/v1/messages`, 'POST', { headers: bearer(creds.apiKey), body });
    assertProblem(second, 503, 'server-busy');
    assert.ok(Number(second.headers['retry-after']) >= 1);

    // A small message fits beside it and is not held up.
    const small = await httpFrom('127.0.0.3', `${h.url}/api/v1/messages`, 'POST', {
      headers: bearer(creds.apiKey),
      body: { from: 'news@bulk.example', to: ['small@example.com'], subject: 'Small', text: 'hi' },
    });
    assert.equal(small.status, 202);
    await eventually(() => sink.messages.some((m) => m.recipients.includes('small@example.com')), 5_000, 'the small message to be delivered');

    assert.equal(await slow, 202);
    await eventually(() => h.app.services.inflight.inUse === 0, 3_000, 'the budget to be given back');
    const later = await httpFrom('127.0.0.2', `${h.url}/api/v1/messages`, 'POST', { headers: bearer(creds.apiKey), body });
    assert.equal(later.status, 202);
    assert.equal(h.app.services.inflight.inUse, 0);
  });
});

for (const kind of testDatabases()) {
  describe(`NUL characters in JSON are 400 before the store (${kind.name})`, { skip: kind.skip }, () => {
    let h: Harness;
    let creds: Credentials;
    let drop: () => Promise<void>;

    before(async () => {
      const db = await kind.create();
      drop = db.drop;
      h = await startHarness(db.env);
      creds = await h.instance('nul', ['127.0.0.1:9']);
    });
    after(async () => {
      await h.close();
      await drop();
    });

    const base = { from: 'news@nul.example', to: ['a@example.com'], subject: 'Hello', text: 'body' };
    const raw = (to: string) => `From: news@nul.example\r\nTo: ${to}\r\nSubject: raw\r\nMessage-ID: <m1@nul.example>\r\n\r\nbody\r\n`;
    const cases: [string, unknown, RegExp][] = [
      ['subject', { ...base, subject: 'Hel\u0000lo' }, /^subject contains a NUL/],
      ['to', { ...base, to: ['ok@example.com', 'a\u0000@example.com'] }, /^to\[1\] contains a NUL/],
      ['a raw recipient', { raw: raw('a@example.com'), recipients: ['b\u0000@example.com'] }, /^recipients\[0\] contains a NUL/],
      ['the raw To header', { raw: raw('b\u0000@example.com') }, /^raw contains a NUL/],
      ['a raw Message-ID', { raw: raw('b@example.com').replace('<m1@', '<m\u00001@') }, /^raw contains a NUL/],
      ['a header name', { ...base, headers: { 'X-A\u0000': 'v' } }, /^a key in headers contains a NUL/],
      ['mailFrom', { raw: raw('a@example.com'), mailFrom: 'x\u0000@nul.example' }, /^mailFrom contains a NUL/],
    ];
    for (const [what, body, detail] of cases) {
      test(`a NUL in ${what} is 400 invalid-request naming the field`, async () => {
        const res = await httpFrom('127.0.0.1', `${h.url}/api/v1/messages`, 'POST', {
          headers: { ...bearer(creds.apiKey), 'idempotency-key': `nul-${what}` },
          body,
        });
        assertProblem(res, 400, 'invalid-request');
        assert.match(res.body.detail, detail);
      });
    }

    test('NULs elsewhere (suppressions, webhooks, admin, path) are 400 too; nothing was stored; good mail still goes in', async () => {
      assertProblem(
        await httpFrom('127.0.0.1', `${h.url}/api/v1/suppressions`, 'POST', {
          headers: bearer(creds.apiKey),
          body: { address: 'a@example.com', reason: 'r\u0000' },
        }),
        400,
        'invalid-request',
      );
      assertProblem(
        await httpFrom('127.0.0.1', `${h.url}/api/v1/webhooks`, 'POST', { headers: bearer(creds.apiKey), body: { url: 'http://127.0.0.1/\u0000' } }),
        400,
        'invalid-request',
      );
      assertProblem(
        await httpFrom('127.0.0.1', `${h.url}/api/admin/v1/customers`, 'POST', { headers: bearer(adminToken), body: { name: 'n\u0000', contacts: [] } }),
        400,
        'invalid-request',
      );
      assertProblem(
        await httpFrom('127.0.0.1', `${h.url}/api/v1/suppressions/a%00b@example.com`, 'DELETE', { headers: bearer(creds.apiKey) }),
        400,
        'invalid-request',
      );
      assertProblem(await httpFrom('127.0.0.1', `${h.url}/api/admin/v1/instances/x%00y`, 'GET', { headers: bearer(adminToken) }), 400, 'invalid-request');
      const queue = await h.admin('GET', '/api/admin/v1/queue');
      const counts = Object.values(queue.body.instances.nul as Record<string, number>);
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        0,
        `nothing was accepted: ${JSON.stringify(queue.body.instances.nul)}`,
      );
      const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', base);
      assert.equal(res.status, 202);
    });
  });
}

test('huge arrays are refused before they cost anything: 600,000 values in a batch, 5,000 addresses in a message', async () => {
  const h = await startHarness();
  try {
    const creds = await h.instance('arrays', ['127.0.0.1:9']);
    const values = await h.api(creds.apiKey, 'POST', '/api/v1/messages/batch', {
      from: 'a@arrays.example',
      subject: 's',
      text: 't',
      recipients: [{ to: 'a@example.com', substitutions: { a: new Array(600_000).fill(0) } }],
    });
    assert.equal(values.status, 400);
    assert.match(values.body.detail, /holds more than 500000 values/);
    const started = Date.now();
    const many = await h.api(creds.apiKey, 'POST', '/api/v1/messages', {
      from: 'a@arrays.example',
      to: Array.from({ length: 5000 }, (_, i) => `r${i}@example.com`),
      subject: 's',
      text: 't',
    });
    assert.equal(many.status, 400);
    assert.equal(many.body.code, 'invalid-request');
    assert.match(many.body.detail, /must NOT have more than 1000 items/);
    assert.ok(Date.now() - started < 2000, 'refused by the schema, before anything is composed');
  } finally {
    await h.close();
  }
});

test('one address holding many HTTP connections: past its cap each is answered 503 with Retry-After; others are served', async () => {
  const { connect } = await import('node:net');
  const h = await startHarness({ MAILSHIFT_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20' });
  const sockets: import('node:net').Socket[] = [];
  try {
    const answers = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<string>((resolve) => {
            const s = connect({ host: '127.0.0.1', port: h.app.httpPort, localAddress: '127.0.0.90' });
            sockets.push(s);
            let got = '';
            s.on('data', (d) => (got += d.toString()));
            s.on('error', () => resolve(got));
            s.on('close', () => resolve(got));
            // A slow client: the request line only, headers never finished.
            s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\n'));
            setTimeout(() => resolve(got), 1500);
          }),
      ),
    );
    const refused = answers.filter((a) => a.startsWith('HTTP/1.1 503'));
    assert.equal(refused.length, 20, 'exactly the connections past the cap are refused');
    assert.ok(refused.every((a) => /Retry-After: 2/i.test(a)));
    const other = await httpFrom('127.0.0.91', `${h.url}/healthz`, 'GET');
    assert.equal(other.status, 200);
    assert.ok((await h.app.services.metrics.busyRefusals.get()).values.some((v) => v.labels.door === 'http' && v.value >= 20));
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
  }
});
