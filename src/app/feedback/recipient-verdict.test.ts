import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../core/delivery/bounce-rules.ts';
import { addressIn, parseFieldBlocks, typedValue } from './field-blocks.ts';
import type { DsnAction } from './feedback-report.ts';
import { dsnAction, replyOf, verdictFor } from './recipient-verdict.ts';

describe('verdictFor: asynchronous bounces classified by the synchronous rules', () => {
  const cases: [DsnAction, string | null, string | null, string, string | null, boolean][] = [
    ['failed', '5.1.1', '550 5.1.1 <a@b.example>: Recipient address rejected: User unknown', 'bounced', 'unknown-user', true],
    ['failed', '5.1.10', '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'bounced', 'unknown-user', true],
    ['failed', '5.2.2', '552 5.2.2 Mailbox full', 'bounced', 'mailbox-full', false],
    ['failed', '5.7.1', '554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org', 'bounced', 'spam-block', false],
    ['failed', '5.4.4', null, 'bounced', 'bad-domain', true],
    // The reporting MTA gave up after 4xx replies: final, but the address is not condemned.
    ['failed', '4.4.7', '421 4.4.2 connection timed out', 'bounced', 'connection', false],
    ['failed', null, 'Host or domain name not found. Name service error for name=x.example', 'bounced', 'bad-domain', true],
    ['failed', null, null, 'bounced', 'other', false],
    // A bare 5.0.0 gives way to the diagnostic's more precise code.
    ['failed', '5.0.0', '550 5.1.1 No such user', 'bounced', 'unknown-user', true],
    ['delayed', '4.4.1', 'connect to mx.example.org[192.0.2.1]:25: Connection timed out', 'deferred', 'connection', false],
    ['delayed', '4.2.2', '452 4.2.2 over quota', 'deferred', 'mailbox-full', false],
    ['delivered', '2.0.0', '250 2.0.0 OK', 'delivered', null, false],
    ['relayed', '2.0.0', null, 'delivered', null, false],
    ['unknown', '5.1.1', null, 'bounced', 'unknown-user', true],
    ['unknown', null, null, 'deferred', 'connection', false],
  ];
  for (const [action, status, diagnostic, outcome, category, hard] of cases) {
    it(`${action} ${status ?? '-'} ${JSON.stringify(diagnostic)} → ${outcome} ${category}${hard ? ' (hard)' : ''}`, () => {
      const v = verdictFor(action, status, diagnostic);
      assert.deepEqual([v.outcome, v.category, v.hard], [outcome, category, hard]);
    });
  }

  it('the same reply text gets the same category as a synchronous reply', () => {
    const text = '550 5.7.1 Message rejected due to DMARC policy';
    assert.equal(verdictFor('failed', '5.7.1', text).category, classifyReply({ code: 550, enhanced: null, text }).category);
  });

  it('replyOf: the diagnostic code wins, then an embedded one, then one made from Status or Action', () => {
    assert.deepEqual(replyOf('failed', '5.1.1', '550-5.1.1 The email account'), { code: 550, enhanced: '5.1.1', text: '550-5.1.1 The email account' });
    assert.equal(replyOf('failed', null, "Remote Server returned '554 5.4.4 SMTPSEND.DNS.NonExistentDomain'").code, 554);
    assert.equal(replyOf('failed', '4.4.7', 'timeout').code, 450);
    assert.equal(replyOf('delivered', null, null).code, 250);
    assert.equal(replyOf('unknown', null, 'whatever').code, null);
    assert.equal(replyOf('failed', 'garbage', null).enhanced, null);
  });

  it('dsnAction reads RFC 3464 actions, with comments and case', () => {
    assert.equal(dsnAction('Failed'), 'failed');
    assert.equal(dsnAction('delayed (will retry)'), 'delayed');
    assert.equal(dsnAction('exploded'), 'unknown');
    assert.equal(dsnAction(null), 'unknown');
  });
});

describe('field blocks', () => {
  it('unfolds, lower-cases names, separates groups at blank lines, skips non-fields', () => {
    const blocks = parseFieldBlocks(
      'Reporting-MTA: dns; mx.example\r\nnot a field\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n   user   unknown\r\n\r\n\r\n',
    );
    assert.deepEqual(blocks, [
      [{ name: 'reporting-mta', value: 'dns; mx.example' }],
      [
        { name: 'final-recipient', value: 'rfc822; a@b.example' },
        { name: 'diagnostic-code', value: 'smtp; 550 5.1.1 user unknown' },
      ],
    ]);
  });

  it('is bounded: blocks, fields per block and value length', () => {
    const many = 'A: 1\n\n'.repeat(2000);
    assert.equal(parseFieldBlocks(many).length, 500);
    const wide = Array.from({ length: 500 }, (_, i) => `F${i}: v`).join('\n');
    assert.equal(parseFieldBlocks(wide)[0].length, 100);
    const long = `X: ${'y'.repeat(100_000)}`;
    assert.equal(parseFieldBlocks(long)[0][0].value.length, 4000);
  });

  it('typed values and addresses', () => {
    assert.deepEqual(typedValue('rfc822; jane@example.org'), { type: 'rfc822', value: 'jane@example.org' });
    assert.deepEqual(typedValue('no type here'), { type: null, value: 'no type here' });
    const cases: [string | null, string | null][] = [
      ['rfc822; jane@example.org', 'jane@example.org'],
      ['rfc822;<jane@example.org>', 'jane@example.org'],
      ['Jane Doe <jane@example.org>', 'jane@example.org'],
      ['utf-8; j\\x{00E9}r\\x{00F4}me@example.org', 'jérôme@example.org'],
      ['<>', null],
      ['rfc822; not an address', null],
      [null, null],
    ];
    for (const [text, want] of cases) assert.equal(addressIn(text), want, String(text));
  });
});
