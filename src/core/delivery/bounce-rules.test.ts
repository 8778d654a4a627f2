import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyReply,
  defaultBounceRules,
  parseEnhancedStatus,
  validateBounceRules,
  type BounceCategory,
  type BounceRule,
  type OutcomeKind,
  type SmtpReply,
} from './bounce-rules.ts';

/** A reply as the outbound transport reports it: code split out, enhanced left in the text. */
function reply(text: string): SmtpReply {
  const m = /^(\d{3})[ -]/.exec(text);
  return { code: m ? Number(m[1]) : null, enhanced: null, text };
}

describe('parseEnhancedStatus', () => {
  const cases: [string, string | null][] = [
    ['550 5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table', '5.1.1'],
    ['5.1.1 User unknown', '5.1.1'],
    ['550-5.1.1 The email account that you tried to reach does not exist.', '5.1.1'],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', '5.1.10'],
    ['452 4.2.2 The email account that you tried to reach is over quota', '4.2.2'],
    ['451 4.7.500 Server busy. Please try again later', '4.7.500'],
    ['550 #5.1.0 Address rejected', '5.1.0'],
    ['554 Rejected (5.7.1)', '5.7.1'],
    ['250 2.0.0 OK 1700000000 x12si345', '2.0.0'],
    ['554 Service unavailable; Client host [5.1.1.9] blocked', null],
    ['550 Requested action not taken: mailbox unavailable', null],
    ['550 version 5.1.1.4 of the filter', null],
    ['421 Service not available', null],
    ['550 3.1.1 is not a class', null],
    ['', null],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} -> ${want}`, () => {
      assert.equal(parseEnhancedStatus(text), want);
    });
  }
});

describe('classifyReply with the default rules', () => {
  const cases: [string, SmtpReply, OutcomeKind, BounceCategory | null][] = [
    ['Gmail accepted', reply('250 2.0.0 OK  1700000000 a1-20020a05si1234567qkl.123 - gsmtp'), 'delivered', null],
    ['plain 250', reply('250 Ok: queued as 4F2C1A'), 'delivered', null],
    [
      'Gmail unknown user',
      reply(
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser",
      ),
      'bounced',
      'unknown-user',
    ],
    [
      'Postfix unknown user',
      reply('550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table'),
      'bounced',
      'unknown-user',
    ],
    [
      'Microsoft recipient not found',
      reply('550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@contoso.com not found by SMTP address lookup'),
      'bounced',
      'unknown-user',
    ],
    ['null MX', reply('556 5.1.10 Recipient address has null MX'), 'bounced', 'bad-domain'],
    ['temporary unknown user', reply('450 4.1.1 <x@example.com>: Recipient address rejected: unverified address'), 'deferred', 'unknown-user'],
    ['Gmail disabled account', reply('550 5.2.1 The email account that you tried to reach is disabled.'), 'bounced', 'unknown-user'],
    [
      'Gmail over quota (4xx)',
      reply(
        '452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp',
      ),
      'deferred',
      'mailbox-full',
    ],
    ['over quota (5xx)', reply('552 5.2.2 The email account that you tried to reach is over quota.'), 'bounced', 'mailbox-full'],
    [
      'Spamhaus block',
      reply('554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1'),
      'bounced',
      'spam-block',
    ],
    [
      'Microsoft block list',
      reply(
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
      ),
      'bounced',
      'spam-block',
    ],
    [
      'Gmail unsolicited',
      reply(
        '550-5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.',
      ),
      'bounced',
      'spam-block',
    ],
    [
      'Barracuda blacklist without enhanced',
      reply('554 Service unavailable; Client host blocked using Barracuda Reputation, see http://www.barracudanetworks.com/reputation/'),
      'bounced',
      'spam-block',
    ],
    ['temporary blocklist', reply('451 4.7.1 Client host 192.0.2.1 is listed on a DNSBL, try later'), 'deferred', 'spam-block'],
    [
      'Gmail unauthenticated',
      reply(
        '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM. To best protect our users from spam',
      ),
      'bounced',
      'policy',
    ],
    ['DMARC reject', reply('550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification'), 'bounced', 'policy'],
    ['relay denied', reply('554 5.7.1 <x@example.org>: Relay access denied'), 'bounced', 'policy'],
    ['Gmail try again later', reply('421-4.7.0 Try again later, closing connection. (EHLO) x1si2 - gsmtp'), 'deferred', 'policy'],
    [
      'Gmail rate of unsolicited mail',
      reply(
        '421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.',
      ),
      'deferred',
      'rate-limited',
    ],
    [
      'Gmail receiving at a rate',
      reply('450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.'),
      'deferred',
      'rate-limited',
    ],
    ['short rate limited', reply('450 4.2.1 rate limited'), 'deferred', 'rate-limited'],
    ['too many connections', reply('421 Too many concurrent SMTP connections from this IP address; please try again later'), 'deferred', 'rate-limited'],
    [
      'Yahoo throttled',
      reply(
        '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      ),
      'deferred',
      'rate-limited',
    ],
    ['relay daily quota', reply('550 5.4.5 Daily user sending quota exceeded.'), 'bounced', 'rate-limited'],
    ['message too large', reply('552 5.3.4 Message size exceeds fixed limit'), 'bounced', 'message-too-large'],
    ['message too large via 5.2.3', reply('552 5.2.3 Message exceeds maximum size'), 'bounced', 'message-too-large'],
    ['Postfix too large without enhanced', reply('552 Message size exceeds fixed maximum message size'), 'bounced', 'message-too-large'],
    ['bad destination domain', reply('550 5.1.2 Host unknown (Name server: example.invalid: host not found)'), 'bounced', 'bad-domain'],
    ['unable to route', reply('554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain'), 'bounced', 'bad-domain'],
    ['Exim unrouteable', reply('550 Unrouteable address'), 'bounced', 'bad-domain'],
    ['virus', reply('554 5.6.0 Message rejected: infected with Eicar-Test-Signature'), 'bounced', 'content'],
    ['too many recipients', reply('452 4.5.3 Too many recipients'), 'deferred', 'protocol'],
    ['syntax error', reply('501 Syntax error in parameters or arguments'), 'bounced', 'protocol'],
    ['bad sequence', reply('503 5.5.1 Error: need MAIL command'), 'bounced', 'protocol'],
    ['no such user, no enhanced', reply('550 No such user here'), 'bounced', 'unknown-user'],
    ['mailbox full, no enhanced', reply('552 Mailbox full'), 'bounced', 'mailbox-full'],
    ['greylisting', reply('450 4.7.1 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/'), 'deferred', 'policy'],
    ['greylisting without enhanced', reply('451 Greylisted, please try again in 180 seconds'), 'deferred', 'other'],
    ['local error', reply('451 4.3.0 Temporary local problem - please try later'), 'deferred', 'other'],
    ['insufficient storage', reply('452 Insufficient system storage'), 'deferred', 'other'],
    ['service closing', reply('421 Service not available, closing transmission channel'), 'deferred', 'connection'],
    ['generic mailbox unavailable', reply('550 Requested action not taken: mailbox unavailable'), 'bounced', 'other'],
    ['enhanced code given separately', { code: 550, enhanced: '5.1.1', text: 'Recipient rejected' }, 'bounced', 'unknown-user'],
    ['connection refused', { code: null, enhanced: null, text: 'connect ECONNREFUSED 192.0.2.1:25' }, 'deferred', 'connection'],
    ['timeout', { code: null, enhanced: null, text: 'Connection timed out' }, 'deferred', 'connection'],
    ['DNS failure', { code: null, enhanced: null, text: 'queryMx ESERVFAIL example.com' }, 'deferred', 'connection'],
    ['TLS failure mentioning spam', { code: null, enhanced: null, text: 'TLS handshake failed with spam-filter.example.com' }, 'deferred', 'connection'],
  ];
  for (const [name, input, outcome, category] of cases) {
    it(name, () => {
      const got = classifyReply(input);
      assert.deepEqual({ outcome: got.outcome, category: got.category }, { outcome, category });
      assert.ok(got.rule >= 0 && got.rule < defaultBounceRules.length);
    });
  }

  it('decides outcome by the basic code even when the enhanced class disagrees', () => {
    assert.equal(classifyReply({ code: 452, enhanced: '5.2.2', text: '' }).outcome, 'deferred');
    assert.equal(classifyReply({ code: 550, enhanced: '4.2.2', text: '' }).outcome, 'bounced');
  });

  it('covers every class of reply code', () => {
    for (let code = 200; code < 600; code += 1) {
      if (code >= 300 && code < 400) continue;
      const got = classifyReply({ code, enhanced: null, text: '' });
      assert.notEqual(got.rule, -1, String(code));
      assert.equal(got.outcome, code < 300 ? 'delivered' : code < 500 ? 'deferred' : 'bounced', String(code));
    }
  });

  it('has frozen defaults', () => {
    assert.ok(Object.isFrozen(defaultBounceRules));
    assert.ok(defaultBounceRules.every((rule) => Object.isFrozen(rule)));
  });

  it('has defaults that pass validation', () => {
    assert.deepEqual(validateBounceRules(JSON.parse(JSON.stringify(defaultBounceRules))), { ok: true, rules: defaultBounceRules.map((r) => ({ ...r })) });
  });
});

describe('classifyReply with custom rules', () => {
  const rules: BounceRule[] = [
    { code: '55x', textMatches: 'mailbox unavailable', outcome: 'deferred', category: 'other' },
    { enhanced: '5.7.*', outcome: 'bounced', category: 'policy' },
    { code: '5xx', enhanced: '5.1.1', outcome: 'bounced', category: 'unknown-user' },
  ];

  it('returns the first matching rule and its index', () => {
    assert.deepEqual(classifyReply(reply('550 Requested action not taken: mailbox unavailable'), rules), { outcome: 'deferred', category: 'other', rule: 0 });
    assert.deepEqual(classifyReply(reply('554 5.7.1 mailbox unavailable'), rules), { outcome: 'deferred', category: 'other', rule: 0 });
    assert.deepEqual(classifyReply(reply('504 5.7.1 denied'), rules), { outcome: 'bounced', category: 'policy', rule: 1 });
    assert.deepEqual(classifyReply(reply('550 5.1.1 gone'), rules), { outcome: 'bounced', category: 'unknown-user', rule: 2 });
  });

  it('requires every given field to match', () => {
    assert.equal(classifyReply(reply('450 5.1.1 odd'), [rules[2]]).rule, -1);
    assert.equal(classifyReply(reply('550 gone'), [rules[2]]).rule, -1);
  });

  it('does not let 5.1.1 match 5.1.10', () => {
    assert.equal(classifyReply(reply('550 5.1.10 gone'), [rules[2]]).rule, -1);
  });

  it('gives delivered outcomes no category', () => {
    assert.deepEqual(classifyReply(reply('250 ok'), [{ code: '2xx', outcome: 'delivered', category: 'other' }]), {
      outcome: 'delivered',
      category: null,
      rule: 0,
    });
  });

  it('falls back to the code class when no rule matches, never bouncing a 250 or a missing reply', () => {
    const cases: [SmtpReply, OutcomeKind, BounceCategory | null][] = [
      [reply('250 ok'), 'delivered', null],
      [reply('451 later'), 'deferred', 'other'],
      [reply('550 no'), 'bounced', 'other'],
      [reply('354 go ahead'), 'deferred', 'protocol'],
      [{ code: null, enhanced: null, text: 'ETIMEDOUT' }, 'deferred', 'connection'],
    ];
    for (const [input, outcome, category] of cases) {
      assert.deepEqual(classifyReply(input, []), { outcome, category, rule: -1 });
    }
  });

  it('matches "none" only when there was no reply', () => {
    const none: BounceRule[] = [{ code: 'none', outcome: 'deferred', category: 'connection' }];
    assert.equal(classifyReply({ code: null, enhanced: null, text: '' }, none).rule, 0);
    assert.equal(classifyReply(reply('421 bye'), none).rule, -1);
  });
});

describe('validateBounceRules', () => {
  it('accepts operator JSON and fills the category of a delivered rule', () => {
    const input = JSON.parse(
      '[{"code":"2xx","outcome":"delivered"},{"code":"5XX","enhanced":"5.7.x","textMatches":"spam","outcome":"bounced","category":"spam-block"},{"outcome":"deferred","category":"other"}]',
    );
    assert.deepEqual(validateBounceRules(input), {
      ok: true,
      rules: [
        { code: '2xx', outcome: 'delivered', category: 'other' },
        { code: '5XX', enhanced: '5.7.x', textMatches: 'spam', outcome: 'bounced', category: 'spam-block' },
        { outcome: 'deferred', category: 'other' },
      ],
    });
  });

  it('produces rules that classify like hand-written ones', () => {
    const parsed = validateBounceRules([{ code: '5XX', enhanced: '5.7.x', outcome: 'bounced', category: 'policy' }]);
    assert.ok(parsed.ok);
    assert.equal(classifyReply(reply('554 5.7.1 no'), parsed.rules).rule, 0);
  });

  const refused: [string, unknown, RegExp][] = [
    ['a non-list', { rules: [] }, /non-empty list/],
    ['an empty list', [], /non-empty list/],
    ['a non-object rule', ['5xx'], /rules\[0\] must be an object/],
    ['an unknown field', [{ code: '550', outcome: 'bounced', category: 'other', enhancedCode: '5.1.1' }], /rules\[0\] has unknown field "enhancedCode"/],
    ['a missing outcome', [{ code: '550', category: 'other' }], /rules\[0\]\.outcome must be one of/],
    ['an unknown outcome', [{ code: '550', outcome: 'rejected', category: 'other' }], /outcome must be one of/],
    ['a missing category on a bounce', [{ code: '550', outcome: 'bounced' }], /category must be one of/],
    ['an unknown category', [{ code: '550', outcome: 'bounced', category: 'spam' }], /category must be one of/],
    ['a two-digit code', [{ code: '55', outcome: 'bounced', category: 'other' }], /code must look like/],
    ['a numeric code', [{ code: 550, outcome: 'bounced', category: 'other' }], /code must look like/],
    ['a star code', [{ code: '5**', outcome: 'bounced', category: 'other' }], /code must look like/],
    ['a short enhanced code', [{ enhanced: '5.1', outcome: 'bounced', category: 'other' }], /enhanced must look like/],
    ['a regex-style enhanced code', [{ enhanced: '5\\.1\\.1', outcome: 'bounced', category: 'other' }], /enhanced must look like/],
    ['an invalid regex', [{ textMatches: '(unclosed', outcome: 'bounced', category: 'other' }], /textMatches is not a valid regular expression/],
    ['an empty regex', [{ textMatches: '', outcome: 'bounced', category: 'other' }], /textMatches must be a non-empty/],
    ['an over-long regex', [{ textMatches: 'a'.repeat(501), outcome: 'bounced', category: 'other' }], /at most 500/],
    [
      'a bad second rule',
      [
        { code: '2xx', outcome: 'delivered' },
        { code: 'abc', outcome: 'bounced', category: 'other' },
      ],
      /rules\[1\]\.code/,
    ],
  ];
  for (const [name, input, message] of refused) {
    it(`refuses ${name}`, () => {
      const parsed = validateBounceRules(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, message);
    });
  }
});
