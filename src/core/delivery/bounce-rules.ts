/**
 * Classification of SMTP outcomes as data: an ordered list of rules, first match wins,
 * so operators can supply their own list as JSON without a code change.
 */

export type OutcomeKind = 'delivered' | 'deferred' | 'bounced';

export const outcomeKinds: readonly OutcomeKind[] = ['delivered', 'deferred', 'bounced'];

export type BounceCategory =
  | 'unknown-user'
  | 'mailbox-full'
  | 'policy'
  | 'spam-block'
  | 'bad-domain'
  | 'message-too-large'
  | 'content'
  | 'rate-limited'
  | 'connection'
  | 'protocol'
  | 'other';

export const bounceCategories: readonly BounceCategory[] = [
  'unknown-user',
  'mailbox-full',
  'policy',
  'spam-block',
  'bad-domain',
  'message-too-large',
  'content',
  'rate-limited',
  'connection',
  'protocol',
  'other',
];

export interface SmtpReply {
  /** null when there was no reply: connection refused, timeout, DNS failure. */
  code: number | null;
  /** RFC 3463 status such as "5.1.1", when the caller already split it out. */
  enhanced: string | null;
  text: string;
}

export interface BounceRule {
  /** "550", "5xx", "45x"; "none" matches a missing reply (code null). */
  code?: string;
  /** "5.1.1", "5.7.*", "*.2.2"; each part a number or "*" ("x" is read as "*"). */
  enhanced?: string;
  /** Case-insensitive regular expression source, searched in the reply text. */
  textMatches?: string;
  outcome: OutcomeKind;
  /** Ignored for 'delivered'. */
  category: BounceCategory;
}

export interface ReplyClassification {
  outcome: OutcomeKind;
  category: BounceCategory | null;
  /** Index of the matching rule; -1 when none matched and the reply code class decided. */
  rule: number;
}

// Outcome follows the basic reply code, which is what RFC 5321 tells a client to act on;
// the enhanced code and the text only choose the category. So each category appears once
// per class: a "452 4.2.2" defers while a "552 5.2.2" bounces.
function perClass(match: Pick<BounceRule, 'enhanced' | 'textMatches'>, category: BounceCategory): BounceRule[] {
  return [
    { code: '4xx', ...match, outcome: 'deferred', category },
    { code: '5xx', ...match, outcome: 'bounced', category },
  ];
}

const authText = String.raw`authenticat|\bspf\b|dkim|dmarc`;
// Yahoo's "[TSS04] ... temporarily deferred due to unexpected volume" asks senders to slow down.
const rateText = String.raw`\brate\b|ratelimit|throttl|too many (connections|concurrent|sessions|messages|mails|emails|requests)|unexpected volume`;
const spamText = String.raw`spam|unsolicited|block ?list|black ?list|dnsbl|\brbl\b|blocked using|reputation`;
const badDomainText = String.raw`domain (does not exist|not found|unknown)|host (or domain name )?not found|unrouteable|no mx|null mx`;
const unknownUserText = String.raw`user unknown|unknown (user|recipient|mailbox)|no such (user|mailbox|recipient|account|address)|does not exist|doesn't exist|(user|mailbox|recipient) not found|invalid (recipient|mailbox)`;
const mailboxFullText = String.raw`over ?quota|(?<!sending )quota exceeded|exceed\w* (the |its |their )?(storage |mailbox |disk )?quota|mailbox (is )?full|mailbox size limit`;
const tooLargeText = String.raw`too (large|big)|size exceeds|exceeds (the )?(max|size)|size limit`;

export const defaultBounceRules: BounceRule[] = Object.freeze(
  [
    { code: '2xx', outcome: 'delivered', category: 'other' },
    { code: 'none', outcome: 'deferred', category: 'connection' },
    // Authentication failures often mention spam ("to protect our users from spam"), but
    // the fix is SPF/DKIM/DMARC, not reputation, so they are caught first.
    ...perClass({ textMatches: authText }, 'policy'),
    { code: '4xx', textMatches: rateText, outcome: 'deferred', category: 'rate-limited' },
    // RFC 7505 uses x.1.10 for a null MX; Microsoft uses 5.1.10 for "recipient not found".
    ...perClass({ enhanced: '*.1.10', textMatches: 'null mx' }, 'bad-domain'),
    ...perClass({ enhanced: '*.1.1' }, 'unknown-user'),
    ...perClass({ enhanced: '*.1.10' }, 'unknown-user'),
    // A disabled mailbox is as undeliverable as a missing one.
    { code: '5xx', enhanced: '5.2.1', outcome: 'bounced', category: 'unknown-user' },
    ...perClass({ enhanced: '*.2.2' }, 'mailbox-full'),
    ...perClass({ enhanced: '*.1.2' }, 'bad-domain'),
    ...perClass({ enhanced: '*.4.4' }, 'bad-domain'),
    ...perClass({ enhanced: '*.3.4' }, 'message-too-large'),
    ...perClass({ enhanced: '*.2.3' }, 'message-too-large'),
    // Blocklist replies usually carry 5.7.1, so the text must be read before x.7.x.
    ...perClass({ textMatches: spamText }, 'spam-block'),
    ...perClass({ enhanced: '*.4.5' }, 'rate-limited'),
    ...perClass({ enhanced: '*.6.*' }, 'content'),
    ...perClass({ enhanced: '*.7.*' }, 'policy'),
    ...perClass({ enhanced: '*.5.*' }, 'protocol'),
    ...perClass({ enhanced: '*.4.1' }, 'connection'),
    ...perClass({ enhanced: '*.4.2' }, 'connection'),
    // Many servers send no enhanced code; their wording is all there is.
    ...perClass({ textMatches: badDomainText }, 'bad-domain'),
    ...perClass({ textMatches: unknownUserText }, 'unknown-user'),
    ...perClass({ textMatches: mailboxFullText }, 'mailbox-full'),
    ...perClass({ textMatches: tooLargeText }, 'message-too-large'),
    { code: '421', outcome: 'deferred', category: 'connection' },
    { code: '50x', outcome: 'bounced', category: 'protocol' },
    { code: '4xx', outcome: 'deferred', category: 'other' },
    { code: '5xx', outcome: 'bounced', category: 'other' },
  ].map((rule) => Object.freeze(rule as BounceRule)),
) as BounceRule[];

// Class digit 2, 4 or 5, not part of a longer dotted number such as an IP address.
const enhancedPattern = /(?:^|[\s\-#([])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)/;

/** "5.1.1" from "550 5.1.1 <x@y>: Recipient address rejected", "550-5.1.1 ..." or "5.1.1 User unknown". */
export function parseEnhancedStatus(text: string): string | null {
  return enhancedPattern.exec(text)?.[1] ?? null;
}

/** First matching rule wins; a reply no rule matches is decided by its code class alone. */
export function classifyReply(reply: SmtpReply, rules: readonly BounceRule[] = defaultBounceRules): ReplyClassification {
  const enhanced = reply.enhanced ?? parseEnhancedStatus(reply.text);
  for (let i = 0; i < rules.length; i += 1) {
    const rule = rules[i];
    if (ruleMatches(rule, reply, enhanced)) {
      return { outcome: rule.outcome, category: rule.outcome === 'delivered' ? null : rule.category, rule: i };
    }
  }
  return { ...byCodeClass(reply.code), rule: -1 };
}

// The safety net for incomplete operator lists: a 250 must never be retried (duplicates)
// and a missing or odd reply must never bounce (lost mail).
function byCodeClass(code: number | null): Omit<ReplyClassification, 'rule'> {
  if (code === null) return { outcome: 'deferred', category: 'connection' };
  if (code >= 200 && code < 300) return { outcome: 'delivered', category: null };
  if (code >= 500 && code < 600) return { outcome: 'bounced', category: 'other' };
  if (code >= 400 && code < 500) return { outcome: 'deferred', category: 'other' };
  return { outcome: 'deferred', category: 'protocol' };
}

function ruleMatches(rule: BounceRule, reply: SmtpReply, enhanced: string | null): boolean {
  if (rule.code !== undefined && !codeMatches(rule.code, reply.code)) return false;
  if (rule.enhanced !== undefined && (enhanced === null || !enhancedMatches(rule.enhanced, enhanced))) return false;
  if (rule.textMatches !== undefined && !compiled(rule.textMatches).test(reply.text)) return false;
  return true;
}

function codeMatches(pattern: string, code: number | null): boolean {
  if (pattern.toLowerCase() === 'none') return code === null;
  if (code === null || !Number.isInteger(code)) return false;
  const digits = String(code);
  if (digits.length !== pattern.length) return false;
  return [...pattern.toLowerCase()].every((c, i) => c === 'x' || c === digits[i]);
}

function enhancedMatches(pattern: string, enhanced: string): boolean {
  const want = pattern.split('.');
  const have = enhanced.split('.');
  if (want.length !== 3 || have.length !== 3) return false;
  // Compared as numbers so "5.1.1" does not match "5.1.10" and "5.01.1" equals "5.1.1".
  return want.every((part, i) => part === '*' || part.toLowerCase() === 'x' || Number(part) === Number(have[i]));
}

// Every deferral and bounce is classified; compiling each rule's pattern once keeps that cheap.
const regexCache = new Map<string, RegExp>();

function compiled(source: string): RegExp {
  let re = regexCache.get(source);
  if (re === undefined) {
    re = new RegExp(source, 'i');
    regexCache.set(source, re);
  }
  return re;
}

export type ValidatedBounceRules = { ok: true; rules: BounceRule[] } | { ok: false; error: string };

const codePattern = /^(none|[0-9x]{3})$/i;
const enhancedRulePattern = /^(\d{1,3}|\*|x)\.(\d{1,3}|\*|x)\.(\d{1,3}|\*|x)$/i;
const ruleFields = new Set(['code', 'enhanced', 'textMatches', 'outcome', 'category']);

/** Checks an operator-supplied JSON list; a delivered rule may omit its category. */
export function validateBounceRules(input: unknown): ValidatedBounceRules {
  if (!Array.isArray(input) || input.length === 0) return { ok: false, error: 'bounce rules must be a non-empty list' };
  const rules: BounceRule[] = [];
  for (const [i, raw] of input.entries()) {
    const at = `rules[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: `${at} must be an object` };
    const r = raw as Record<string, unknown>;
    const unknown = Object.keys(r).find((key) => !ruleFields.has(key));
    if (unknown !== undefined) return { ok: false, error: `${at} has unknown field ${JSON.stringify(unknown)}` };
    if (!outcomeKinds.includes(r.outcome as OutcomeKind)) {
      return { ok: false, error: `${at}.outcome must be one of ${outcomeKinds.join(', ')}, got ${JSON.stringify(r.outcome)}` };
    }
    const category = r.category ?? (r.outcome === 'delivered' ? 'other' : undefined);
    if (!bounceCategories.includes(category as BounceCategory)) {
      return { ok: false, error: `${at}.category must be one of ${bounceCategories.join(', ')}, got ${JSON.stringify(r.category)}` };
    }
    const rule: BounceRule = { outcome: r.outcome as OutcomeKind, category: category as BounceCategory };
    if (r.code !== undefined) {
      if (typeof r.code !== 'string' || !codePattern.test(r.code))
        return { ok: false, error: `${at}.code must look like "550", "5xx" or "none", got ${JSON.stringify(r.code)}` };
      rule.code = r.code;
    }
    if (r.enhanced !== undefined) {
      if (typeof r.enhanced !== 'string' || !enhancedRulePattern.test(r.enhanced))
        return { ok: false, error: `${at}.enhanced must look like "5.1.1" or "5.7.*", got ${JSON.stringify(r.enhanced)}` };
      rule.enhanced = r.enhanced;
    }
    if (r.textMatches !== undefined) {
      const problem = regexProblem(r.textMatches);
      if (problem !== null) return { ok: false, error: `${at}.textMatches ${problem}` };
      rule.textMatches = r.textMatches as string;
    }
    rules.push(rule);
  }
  return { ok: true, rules };
}

function regexProblem(source: unknown): string | null {
  if (typeof source !== 'string' || source.length === 0) return 'must be a non-empty regular expression';
  if (source.length > 500) return 'must be at most 500 characters';
  try {
    new RegExp(source, 'i');
    return null;
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
}
