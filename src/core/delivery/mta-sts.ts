/**
 * MTA-STS (RFC 8461): a domain publishes, over HTTPS, the MX hosts it accepts mail on and
 * whether senders must refuse any other (or any without a valid certificate).
 */
export const mtaStsModes = ['enforce', 'testing', 'none'] as const;
export type MtaStsMode = (typeof mtaStsModes)[number];

export interface MtaStsPolicy {
  mode: MtaStsMode;
  /** Host name patterns; `*.example.com` matches one label. */
  mx: string[];
  maxAgeS: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Longest a policy is kept whatever it says (RFC 8461 §3.2: 31557600 s). */
export const maxPolicyAgeS = 31_557_600;

/** `_mta-sts.<domain>` TXT: the one record starting `v=STSv1`, and its `id`. */
export function parseStsRecord(records: readonly (readonly string[])[]): Parsed<{ id: string }> {
  const sts = records.map((chunks) => chunks.join('')).filter((r) => /^v=STSv1\s*(;|$)/.test(r));
  if (sts.length !== 1) return { ok: false, error: sts.length === 0 ? 'no v=STSv1 record' : 'more than one v=STSv1 record' };
  const id = /(?:^|;)\s*id=([A-Za-z0-9]{1,32})\s*(?:;|$)/.exec(sts[0]);
  return id ? { ok: true, value: { id: id[1] } } : { ok: false, error: 'the v=STSv1 record has no valid id' };
}

/** The policy file (`/.well-known/mta-sts.txt`): `key: value` lines. */
export function parseStsPolicy(text: string): Parsed<MtaStsPolicy> {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'version') version ??= value;
    else if (key === 'mode') mode ??= value;
    else if (key === 'max_age') maxAge ??= value;
    else if (key === 'mx') mx.push(value.toLowerCase());
  }
  if (version !== 'STSv1') return { ok: false, error: `version must be STSv1, got ${JSON.stringify(version)}` };
  if (!(mtaStsModes as readonly string[]).includes(mode ?? ''))
    return { ok: false, error: `mode must be enforce, testing or none, got ${JSON.stringify(mode)}` };
  if (!maxAge || !/^\d{1,10}$/.test(maxAge)) return { ok: false, error: 'max_age must be a number of seconds' };
  if (mode !== 'none' && mx.length === 0) return { ok: false, error: 'a policy that is not "none" lists at least one mx' };
  return { ok: true, value: { mode: mode as MtaStsMode, mx, maxAgeS: Math.min(Number(maxAge), maxPolicyAgeS) } };
}

/** Whether an MX host name matches a policy's pattern: exactly, or `*.` for one leftmost label. */
export function mxMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}
