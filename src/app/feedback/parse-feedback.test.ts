import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { BounceRule } from '../../core/delivery/bounce-rules.ts';
import { parseFeedback } from './parse-feedback.ts';
import type { FeedbackReport, RecipientStatus } from './feedback-report.ts';
import { VerpCodec } from './verp.ts';
import { locateDelivery } from './feedback-recipients.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/feedback/${name}`, import.meta.url));

/** [address, outcome, category, hard] per recipient. */
type Want = [string | null, string, string | null, boolean][];

function recipientsOf(report: FeedbackReport): RecipientStatus[] {
  return report.kind === 'dsn' || report.kind === 'bounce' ? report.recipients : [];
}

describe('parseFeedback: reports as real systems build them', () => {
  const cases: { file: string; kind: FeedbackReport['kind']; format?: string; recipients?: Want; messageId?: string; returnPath?: string }[] = [
    {
      file: 'postfix-dsn.eml',
      kind: 'dsn',
      recipients: [['jane.doe@example.org', 'bounced', 'unknown-user', true]],
      messageId: '<8f2b1c7e-5d0a-4e4f-9a51-6d1f0c9b7a11@acme.example>',
      returnPath: 'b-39u-eoa58m2dbtf2l@bounces.example.net',
    },
    { file: 'postfix-delayed-dsn.eml', kind: 'dsn', recipients: [['slow.user@example.org', 'deferred', 'connection', false]] },
    {
      file: 'exchange-ndr.eml',
      kind: 'dsn',
      recipients: [['john.smith@contoso.example', 'bounced', 'unknown-user', true]],
      messageId: '<3c5d7e9f-aaaa-4bbb-8ccc-0d1e2f3a4b5c@acme.example>',
      returnPath: 'b-39v-8mvo76cau7l34@bounces.example.net',
    },
    {
      file: 'gmail-dsn.eml',
      kind: 'dsn',
      recipients: [['no.such.user@gmail.com', 'bounced', 'unknown-user', true]],
      messageId: '<a7d1e9c0-2222-4333-8444-555566667777@acme.example>',
      returnPath: 'b-39w-9ifbu78ftump8@bounces.example.net',
    },
    {
      file: 'exchange-legacy-ndr.eml',
      kind: 'bounce',
      format: 'exchange',
      recipients: [['former.employee@fabrikam.example', 'bounced', 'unknown-user', true]],
      messageId: '<b1b1b1b1-2222-4333-8444-555566667777@acme.example>',
    },
    {
      file: 'qmail-bounce.eml',
      kind: 'bounce',
      format: 'qmail',
      recipients: [
        ['old.customer@oldhost.example', 'bounced', 'unknown-user', true],
        ['full.box@oldhost.example', 'bounced', 'mailbox-full', false],
      ],
      returnPath: 'b-39x-biuiqis3udg1a@bounces.example.net',
    },
    {
      file: 'postfix-human-only.eml',
      kind: 'bounce',
      format: 'postfix',
      recipients: [
        ['maria@smallisp.example', 'bounced', 'mailbox-full', false],
        ['pedro@nowhere.smallisp.example', 'bounced', 'bad-domain', true],
      ],
      returnPath: 'b-3a0-fhsf4ulmccbpq@bounces.example.net',
    },
    {
      file: 'gmail-legacy.eml',
      kind: 'bounce',
      format: 'gmail',
      recipients: [['gone.away@example.com', 'bounced', 'unknown-user', true]],
      returnPath: 'b-39w-9ifbu78ftump8@bounces.example.net',
    },
    { file: 'out-of-office.eml', kind: 'auto-reply' },
    {
      file: 'yahoo-arf.eml',
      kind: 'arf',
      messageId: '<e5e5e5e5-6666-4777-8888-999900001111@acme.example>',
      returnPath: 'b-39y-9jqrniqi12oq5@bounces.example.net',
    },
  ];
  for (const c of cases) {
    it(`${c.file} → ${c.kind}${c.format ? ` (${c.format})` : ''}`, async () => {
      const report = await parseFeedback(fixture(c.file));
      assert.equal(report.kind, c.kind, JSON.stringify(report));
      if (c.format) assert.equal((report as { format: string }).format, c.format);
      if (c.recipients) {
        const got = recipientsOf(report).map((r) => [r.finalRecipient, r.verdict.outcome, r.verdict.category, r.verdict.hard]);
        assert.deepEqual(got, c.recipients);
      }
      const original = 'original' in report ? report.original : null;
      if (c.messageId) assert.equal(original?.messageId, c.messageId);
      if (c.returnPath) assert.equal(original?.returnPath, c.returnPath);
    });
  }

  it('the Postfix DSN keeps every RFC 3464 field', async () => {
    const report = await parseFeedback(fixture('postfix-dsn.eml'));
    assert.equal(report.kind, 'dsn');
    if (report.kind !== 'dsn') return;
    assert.equal(report.reportingMta, 'mx1.mail.example.org');
    assert.equal(report.fields.find((f) => f.name === 'x-postfix-queue-id')?.value, '4Y7kQ21Xg9z9v2Rt');
    const [r] = report.recipients;
    assert.equal(r.originalRecipient, 'jane.doe@example.org');
    assert.equal(r.action, 'failed');
    assert.equal(r.status, '5.1.1');
    assert.equal(r.diagnosticType, 'smtp');
    assert.equal(r.diagnostic, '550 5.1.1 <jane.doe@example.org>: Recipient address rejected: User unknown in virtual mailbox table');
    assert.equal(r.remoteMta, 'mailstore.example.org');
    assert.deepEqual(r.verdict.reply, { code: 550, enhanced: '5.1.1', text: r.diagnostic });
  });

  it('the Exchange DSN: 5.1.10 RecipientNotFound is an unknown user, as a synchronous reply would be', async () => {
    const report = await parseFeedback(fixture('exchange-ndr.eml'));
    const [r] = recipientsOf(report);
    assert.equal(r.status, '5.1.10');
    assert.match(r.diagnostic ?? '', /^550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/);
  });

  it('the Yahoo ARF report: every RFC 5965 field and the original', async () => {
    const report = await parseFeedback(fixture('yahoo-arf.eml'));
    assert.equal(report.kind, 'arf');
    if (report.kind !== 'arf') return;
    assert.deepEqual(
      [
        report.feedbackType,
        report.userAgent,
        report.version,
        report.originalMailFrom,
        report.originalRcptTo,
        report.arrivalDate,
        report.sourceIp,
        report.reportedDomain,
      ],
      [
        'abuse',
        'Yahoo!-Mail-Feedback/2.0',
        '1',
        'b-39y-9jqrniqi12oq5@bounces.example.net',
        ['sam.reader@yahoo.example'],
        'Tue, 14 Jan 2025 09:10:00 +0000',
        '198.51.100.7',
        'acme.example',
      ],
    );
    assert.deepEqual(report.original?.to, ['sam.reader@yahoo.example']);
  });

  it('the out-of-office is recognised by its headers, not taken for a bounce', async () => {
    const report = await parseFeedback(fixture('out-of-office.eml'));
    assert.deepEqual(report, {
      kind: 'auto-reply',
      signal: 'auto-submitted: auto-replied',
      from: 'lucia.garcia@partner.example',
      subject: 'Automatic reply: Our January offers',
      inReplyTo: '<f0f0f0f0-7777-4888-8999-aaaabbbbcccc@acme.example>',
    });
  });

  it('operator bounce rules apply to asynchronous bounces too', async () => {
    const rules: BounceRule[] = [{ code: '5xx', textMatches: 'virtual mailbox table', outcome: 'bounced', category: 'policy' }];
    const [r] = recipientsOf(await parseFeedback(fixture('postfix-dsn.eml'), { rules }));
    assert.equal(r.verdict.category, 'policy');
    assert.equal(r.verdict.hard, false);
  });

  it('the VERP address finds the delivery: from RCPT for DSNs, from the report for ARF', async () => {
    const codec = new VerpCodec({ secrets: ['test-secret-0123456789'] });
    const dsn = await parseFeedback(fixture('postfix-dsn.eml'));
    assert.deepEqual(locateDelivery(dsn, ['B-39U-EOA58M2DBTF2L@bounces.example.net'], codec), { found: true, deliveryId: 4242, via: 'rcpt' });
    const arf = await parseFeedback(fixture('yahoo-arf.eml'));
    assert.deepEqual(locateDelivery(arf, ['fbl@bounces.example.net'], codec), { found: true, deliveryId: 4246, via: 'original-mail-from' });
    const redacted = await parseFeedback(
      Buffer.from(
        fixture('yahoo-arf.eml')
          .toString()
          .replace(/^Original-Mail-From: .*$/m, 'Original-Mail-From: <redacted@yahoo.example>'),
      ),
    );
    assert.deepEqual(locateDelivery(redacted, ['fbl@bounces.example.net'], codec), { found: true, deliveryId: 4246, via: 'return-path' });
    assert.deepEqual(locateDelivery(dsn, ['fbl@bounces.example.net'], new VerpCodec({ secrets: ['another-secret-987654321'] })), { found: false });
  });
});

describe('parseFeedback: variants and damage', () => {
  const postfix = fixture('postfix-dsn.eml').toString();

  it('a DSN with CRLF line ends and a base64 status part reads the same', async () => {
    const status = /Content-Type: message\/delivery-status\n\n([\s\S]*?)\n--4Y7k/.exec(postfix)![1];
    const encoded = postfix.replace(
      `Content-Type: message/delivery-status\n\n${status}`,
      `Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n${Buffer.from(status).toString('base64').replace(/.{76}/g, '$&\n')}`,
    );
    for (const text of [postfix.replace(/\n/g, '\r\n'), encoded]) {
      const [r] = recipientsOf(await parseFeedback(Buffer.from(text)));
      assert.equal(r?.finalRecipient, 'jane.doe@example.org');
      assert.equal(r?.verdict.category, 'unknown-user');
    }
  });

  it('a status part with no blank line after the per-message fields still yields its recipient', async () => {
    const joined = postfix.replace('(CET)\n\nFinal-Recipient', '(CET)\nFinal-Recipient');
    const report = await parseFeedback(Buffer.from(joined));
    assert.equal(recipientsOf(report)[0]?.finalRecipient, 'jane.doe@example.org');
  });

  it('a status part without recipients falls back to the human-readable part', async () => {
    const broken = postfix.replace(/Final-Recipient[\s\S]*?table\n/, 'Nonsense: here\n');
    const report = await parseFeedback(Buffer.from(broken));
    assert.equal(report.kind, 'bounce');
    assert.equal(recipientsOf(report)[0]?.finalRecipient, 'jane.doe@example.org');
  });

  it('an Exim bounce is read from X-Failed-Recipients and its SMTP error', async () => {
    const exim = [
      'From: Mail Delivery System <Mailer-Daemon@mx.exim.example>',
      'To: b-39u-eoa58m2dbtf2l@bounces.example.net',
      'Subject: Mail delivery failed: returning message to sender',
      'X-Failed-Recipients: lost@exim.example',
      'Auto-Submitted: auto-replied',
      '',
      'This message was created automatically by mail delivery software.',
      '',
      'A message that you sent could not be delivered to one or more of its',
      'recipients. This is a permanent error. The following address(es) failed:',
      '',
      '  lost@exim.example',
      '    host mx.exim.example [192.0.2.9]',
      '    SMTP error from remote mail server after RCPT TO:<lost@exim.example>:',
      '    550 5.1.1 No such user here',
      '',
    ].join('\n');
    const report = await parseFeedback(Buffer.from(exim));
    assert.equal(report.kind, 'bounce');
    const [r] = recipientsOf(report);
    assert.deepEqual([r.finalRecipient, r.verdict.outcome, r.verdict.category], ['lost@exim.example', 'bounced', 'unknown-user']);
  });

  const autoReplies: [string, string][] = [
    ['X-Autoreply: yes', 'x-autoreply'],
    ['X-Autorespond: Out of office', 'x-autorespond'],
    ['Precedence: auto_reply', 'precedence: auto_reply'],
    ['Auto-Submitted: auto-generated', 'auto-submitted: auto-generated'],
  ];
  for (const [header, signal] of autoReplies) {
    it(`an auto-reply with "${header}"`, async () => {
      const report = await parseFeedback(
        Buffer.from(`From: a@partner.example\nTo: b-39u-eoa58m2dbtf2l@bounces.example.net\nSubject: Re: offers\n${header}\n\nThanks!\n`),
      );
      assert.equal(report.kind, 'auto-reply');
      assert.equal((report as { signal: string }).signal, signal);
    });
  }
  for (const subject of [
    'Out of Office: Our January offers',
    'Respuesta automática: ofertas',
    'Abwesenheitsnotiz: Angebote',
    'Réponse automatique : offres',
    'Auto-Reply: offers',
  ]) {
    it(`an auto-reply known only by its subject: "${subject}"`, async () => {
      const report = await parseFeedback(Buffer.from(`From: a@partner.example\nSubject: ${subject}\nContent-Type: text/plain; charset=utf-8\n\nAway.\n`));
      assert.equal(report.kind, 'auto-reply');
    });
  }

  it('Auto-Submitted: no, a plain reply, is not an auto-reply', async () => {
    const report = await parseFeedback(Buffer.from('From: a@partner.example\nSubject: Re: offers\nAuto-Submitted: no\n\nPlease stop.\n'));
    assert.deepEqual(report, { kind: 'unparsed', reason: 'not a report, bounce or automatic reply' });
  });

  const garbage: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['binary', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['a multipart/report with nothing inside', Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n--x--\n')],
    ['an unterminated boundary', Buffer.from('Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nFinal-Recip')],
    [
      'a feedback report without Feedback-Type',
      Buffer.from(
        'Content-Type: multipart/report; report-type=feedback-report; boundary=x\n\n--x\nContent-Type: message/feedback-report\n\nVersion: 1\n--x--\n',
      ),
    ],
    ['a header of 300 KiB', Buffer.from(`Subject: ${'x'.repeat(300 * 1024)}\n\nbody\n`)],
  ];
  for (const [name, raw] of garbage) {
    it(`garbage (${name}) is unparsed, not an exception`, async () => {
      const report = await parseFeedback(raw);
      assert.equal(report.kind, 'unparsed', JSON.stringify(report).slice(0, 300));
    });
  }

  it('fuzzed messages never throw and always give a known kind', async () => {
    const pieces = [postfix, fixture('yahoo-arf.eml').toString(), fixture('qmail-bounce.eml').toString(), fixture('exchange-legacy-ndr.eml').toString()];
    await fc.assert(
      fc.asyncProperty(fc.nat(pieces.length - 1), fc.nat(), fc.nat(), fc.string({ maxLength: 200 }), async (which, at, cut, noise) => {
        const base = pieces[which];
        const i = at % base.length;
        const mangled = base.slice(0, i) + noise + base.slice(i + (cut % 300));
        const report = await parseFeedback(Buffer.from(mangled));
        assert.ok(['dsn', 'bounce', 'auto-reply', 'arf', 'unparsed'].includes(report.kind));
      }),
      { numRuns: 200 },
    );
  });

  it('long runs of white space and near-addresses stay fast (no catastrophic backtracking)', async () => {
    const nasty = [
      'From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n\n',
      'This is the mail system at host x.\n\n<' + 'a.'.repeat(20_000) + '\n',
      'Diagnostic information for administrators:\n' + ' '.repeat(30_000) + '\n',
      'The response was:' + '\n'.repeat(20_000),
      'Delivery to the following recipient failed permanently:' + '\n \n'.repeat(10_000),
    ].join('');
    const t0 = process.hrtime.bigint();
    await parseFeedback(Buffer.from(nasty));
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 5000, 'parsed within 5 s');
  });
});
