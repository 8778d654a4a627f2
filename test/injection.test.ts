import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { Sink } from './helpers/sink.ts';
import { eventually, smtpClient, startHarness, type Harness } from './helpers/harness.ts';

describe('injection', () => {
  let h: Harness;
  let sink: Sink;
  let creds: { smtp: { username: string; password: string }; apiKey: string };
  let other: { smtp: { username: string; password: string }; apiKey: string };

  before(async () => {
    sink = await Sink.start();
    h = await startHarness({ MAILSHIFT_MAX_MESSAGE_SIZE: String(64 * 1024) });
    creds = await h.instance('shop', [sink.relay]);
    other = await h.instance('other', [sink.relay]);
  });
  after(async () => {
    await h.close();
    await sink.close();
  });

  test('SMTP with AUTH over STARTTLS is delivered to the relay with its content intact', async () => {
    const client = smtpClient(h.app.smtpPort, creds.smtp);
    const info = await client.sendMail({
      from: 'News <news@shop.example>',
      to: 'alice@example.com',
      subject: 'Spring sale',
      text: 'Everything must go.',
      headers: { 'X-Campaign': 'spring' },
      requireTLS: true,
    } as never);
    assert.match(info.response, /^250 2\.6\.0 Ok: queued as [0-9a-f]+$/);
    await eventually(() => sink.messages.some((m) => m.recipients.includes('alice@example.com')), 10_000, 'delivery');
    const got = sink.messages.find((m) => m.recipients.includes('alice@example.com'))!;
    assert.equal(got.mailFrom, 'news@shop.example');
    assert.match(got.raw, /^Subject: Spring sale$/m);
    assert.match(got.raw, /^X-Campaign: spring$/m);
    assert.match(got.raw, /Everything must go\./);
    assert.ok(got.raw.includes(info.messageId), 'the Message-ID is kept');
  });

  test('HTTP JSON messages are composed, accepted with 202 and delivered; bcc stays hidden', async () => {
    const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', {
      from: 'Shop <news@shop.example>',
      to: ['bob@example.com'],
      bcc: ['audit@example.com'],
      subject: 'Olé',
      text: 'plain part',
      html: '<p>html part</p>',
      attachments: [{ filename: 'a.txt', content: Buffer.from('attached!').toString('base64'), contentType: 'text/plain' }],
    });
    assert.equal(res.status, 202);
    assert.equal(res.body.recipients, 2);
    await eventually(() => sink.messages.filter((m) => m.raw.includes('plain part')).length === 2, 10_000, 'two deliveries');
    const copies = sink.messages.filter((m) => m.raw.includes('plain part'));
    assert.deepEqual(copies.map((m) => m.recipients[0]).sort(), ['audit@example.com', 'bob@example.com']);
    for (const c of copies) {
      assert.doesNotMatch(c.raw, /^Bcc:/im);
      assert.match(c.raw, /html part/);
      assert.match(c.raw, /filename=a\.txt/);
      assert.match(c.raw, /^Subject: =\?UTF-8\?/m);
    }
    const events = await h.api(creds.apiKey, 'GET', `/api/v1/messages/${res.body.id}`);
    assert.equal(events.status, 200);
    await eventually(async () => {
      const view = await h.api(creds.apiKey, 'GET', `/api/v1/messages/${res.body.id}`);
      return view.body.deliveries.every((d: { state: string }) => d.state === 'delivered');
    });
  });

  test('raw MIME over HTTP gets Message-ID and Date added when missing', async () => {
    const raw = 'From: news@shop.example\r\nTo: carol@example.com\r\nSubject: raw one\r\n\r\nraw body\r\n';
    const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { raw });
    assert.equal(res.status, 202);
    await eventually(() => sink.messages.some((m) => m.raw.includes('raw body')));
    const got = sink.messages.find((m) => m.raw.includes('raw body'))!;
    assert.deepEqual(got.recipients, ['carol@example.com']);
    assert.match(got.raw, /^Message-ID: <[0-9a-f]+@/m);
    assert.match(got.raw, /^Date: /m);
  });

  test('a batch renders one Liquid template per recipient, escaping HTML substitutions', async () => {
    const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages/batch', {
      from: 'news@shop.example',
      subject: 'Hello {{ name }}',
      text: 'Hi {{ name }}, code {{ code }}',
      html: '<p>Hi {{ name }}</p>',
      recipients: [
        { to: 'b1@example.com', substitutions: { name: 'Ana', code: 'A1' } },
        { to: 'b2@example.com', substitutions: { name: '<b>Ben</b>', code: 'B2' } },
      ],
    });
    assert.equal(res.status, 202);
    assert.equal(res.body.accepted, 2);
    await eventually(() => sink.messages.filter((m) => /^b[12]@/.test(m.recipients[0])).length === 2);
    const b1 = sink.messages.find((m) => m.recipients[0] === 'b1@example.com')!;
    const b2 = sink.messages.find((m) => m.recipients[0] === 'b2@example.com')!;
    assert.match(b1.raw, /^Subject: Hello Ana$/m);
    assert.match(b1.raw, /Hi Ana, code A1/);
    assert.match(b2.raw, /&lt;b&gt;Ben&lt;\/b&gt;/);
  });

  test('an Idempotency-Key makes a retried call send nothing twice', async () => {
    const body = { from: 'news@shop.example', to: ['idem@example.com'], subject: 'once', text: 'only once' };
    const first = await h.api(creds.apiKey, 'POST', '/api/v1/messages', body, { 'idempotency-key': 'k-1' });
    const second = await h.api(creds.apiKey, 'POST', '/api/v1/messages', body, { 'idempotency-key': 'k-1' });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    const changed = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { ...body, text: 'different' }, { 'idempotency-key': 'k-1' });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.code, 'idempotency-mismatch');
    await eventually(() => sink.messages.some((m) => m.recipients[0] === 'idem@example.com'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.messages.filter((m) => m.recipients[0] === 'idem@example.com').length, 1);
  });

  test('an instance may relay without AUTH from its allowed network', async () => {
    const open = await h.instance('by-network', [sink.relay], { instance: { allowFrom: ['127.0.0.0/8'] } });
    assert.ok(open.apiKey);
    const info = await smtpClient(h.app.smtpPort).sendMail({ from: 'x@shop.example', to: 'net@example.com', subject: 'by network', text: 'n' });
    assert.match(info.response, /^250 /);
    await eventually(() => sink.messages.some((m) => m.recipients[0] === 'net@example.com'));
  });

  describe('bad input gets a clear error and loses nothing already accepted', () => {
    let acceptedId: string;
    before(async () => {
      // Hold the instance so the accepted message stays in the spool while bad input arrives.
      assert.equal((await h.admin('POST', '/api/admin/v1/instances/shop/suspend', {})).status, 200);
      const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', {
        from: 'news@shop.example',
        to: ['keep@example.com'],
        subject: 'keep me',
        text: 'precious',
      });
      assert.equal(res.status, 202);
      acceptedId = res.body.id;
    });

    test('wrong SMTP credentials: 535 5.7.8', async () => {
      await assert.rejects(
        smtpClient(h.app.smtpPort, { username: 'shop', password: 'nope' }).sendMail({ from: 'a@shop.example', to: 'x@example.com', text: 'x' }),
        (err: { response?: string }) => {
          assert.match(err.response ?? '', /^535 5\.7\.8 /);
          return true;
        },
      );
    });

    test('no AUTH from an unknown network: 530 5.7.0', async () => {
      const h2 = await startHarness();
      try {
        // This harness has no instance allowing loopback, so relaying must be refused.
        await assert.rejects(smtpClient(h2.app.smtpPort).sendMail({ from: 'a@shop.example', to: 'x@example.com', text: 'x' }), /530 5\.7\.0/);
      } finally {
        await h2.close();
      }
    });

    test('malformed MIME over SMTP: 554 5.6.0', async () => {
      const reply = await rawSmtp(h.app.smtpPort, creds.smtp, 'this is not a header\r\nnor this\r\n\r\nbody\r\n');
      assert.match(reply, /^554 5\.6\.0 .*not a "Name: value" field/m);
    });

    test('oversize over SMTP: 552 5.3.4', async () => {
      const big = 'x'.repeat(80 * 1024);
      await assert.rejects(smtpClient(h.app.smtpPort, creds.smtp).sendMail({ from: 'a@shop.example', to: 'big@example.com', text: big }), /552 5\.3\.4/);
    });

    test('oversize over HTTP: 413 problem', async () => {
      const res = await h.api(creds.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['big@example.com'], text: 'x'.repeat(80 * 1024) });
      assert.equal(res.status, 413);
      assert.equal(res.body.code, 'message-too-large');
    });

    test('header injection through API fields: 400 problem+json', async () => {
      for (const body of [
        { from: 'a@shop.example', to: ['v@example.com'], subject: 'hi\r\nBcc: evil@example.com', text: 'x' },
        { from: 'a@shop.example', to: ['v@example.com'], subject: 'ok', text: 'x', headers: { 'X-Tag': 'a\nBcc: evil@example.com' } },
        { from: 'a@shop.example\r\nBcc: evil@example.com', to: ['v@example.com'], text: 'x' },
      ]) {
        const res = await fetch(`${h.url}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${creds.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 400);
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        const problem = await res.json();
        assert.equal(problem.code, 'header-injection');
        assert.ok(problem.detail.length > 0);
      }
    });

    test("another instance's key neither sees the message nor touches it", async () => {
      const res = await h.api(other.apiKey, 'GET', `/api/v1/messages/${acceptedId}`);
      assert.equal(res.status, 404);
      const own = await h.api(creds.apiKey, 'GET', `/api/v1/messages/${acceptedId}`);
      assert.equal(own.status, 200);
      const bad = await h.api('ms_000000000000_notavalidkeyatall', 'GET', `/api/v1/messages/${acceptedId}`);
      assert.equal(bad.status, 401);
      assert.equal(bad.body.code, 'auth-failed');
    });

    test('an invalid JSON body: 400 problem', async () => {
      const res = await fetch(`${h.url}/api/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${creds.apiKey}`, 'content-type': 'application/json' },
        body: '{"from":',
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).code, 'invalid-request');
    });

    after(async () => {
      // The message accepted before all that bad input is still there and goes out on resume.
      assert.equal((await h.admin('POST', '/api/admin/v1/instances/shop/resume', {})).status, 200);
      await eventually(() => sink.messages.some((m) => m.recipients[0] === 'keep@example.com'), 10_000, 'the held message');
      assert.ok(!sink.messages.some((m) => m.recipients.includes('evil@example.com') || m.recipients.includes('big@example.com')));
    });
  });
});

/** Speaks SMTP by hand, for input no well-behaved client library would send. */
async function rawSmtp(port: number, auth: { username: string; password: string }, data: string): Promise<string> {
  const socket = new Socket();
  let transcript = '';
  socket.on('data', (d) => (transcript += d.toString()));
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  await eventually(() => /^220 /m.test(transcript), 5000, 'greeting');
  const plain = Buffer.from(`\0${auth.username}\0${auth.password}`).toString('base64');
  const steps = ['EHLO test', `AUTH PLAIN ${plain}`, 'MAIL FROM:<a@shop.example>', 'RCPT TO:<m@example.com>', 'DATA'];
  for (const step of steps) {
    const before = transcript.length;
    socket.write(step + '\r\n');
    await eventually(() => /\d{3} [^\r\n]*\r\n$/.test(transcript.slice(before)), 5000, step);
  }
  const before = transcript.length;
  socket.write(data + '.\r\n');
  await eventually(() => /\d{3} [^\r\n]*\r\n$/.test(transcript.slice(before)), 5000, 'end of data');
  socket.end('QUIT\r\n');
  return transcript.slice(before);
}

describe('SMTP recipients', () => {
  test('a malformed recipient is refused at RCPT (5.1.3) while the good ones go through', async () => {
    const sink = await Sink.start();
    const h = await startHarness();
    try {
      const creds = await h.instance('rcpt', [sink.relay]);
      const info = await smtpClient(h.app.smtpPort, creds.smtp).sendMail({
        envelope: { from: 'a@shop.example', to: ['good@example.com', '"john doe"@example.com'] },
        raw: 'From: a@shop.example\r\nSubject: r\r\n\r\nx\r\n',
      } as never);
      assert.deepEqual(info.accepted, ['good@example.com']);
      assert.equal(info.rejected.length, 1);
      assert.match(String((info as unknown as { rejectedErrors: { response: string }[] }).rejectedErrors[0].response), /^5\d\d 5\.1\.3 /);
      await sink.waitFor(1);
      assert.deepEqual(sink.messages[0].recipients, ['good@example.com']);
    } finally {
      await h.close();
      await sink.close();
    }
  });
});
