import { checkMessage, headerValue } from '../core/spool/message-check.ts';

/** RFC 8058 allows one-click only when the DKIM signature covers both fields: the signer's header list must name them. */
export const listUnsubscribeFields = ['List-Unsubscribe', 'List-Unsubscribe-Post'] as const;

/** Where a recipient unsubscribes from one delivery: a one-click URL (RFC 8058), and a mailbox when there is one. */
export interface UnsubscribeLinks {
  url: string;
  mailto: string | null;
}

/**
 * The message with one-click unsubscribe header fields added in front (so a DKIM signature
 * made afterwards covers them): `List-Unsubscribe: <https://…>, <mailto:…>` and
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. A tenant's own List-Unsubscribe is
 * kept; only what is missing is added (the Post field only if its list has an http(s) link).
 */
export function withListUnsubscribe(raw: Buffer, links: UnsubscribeLinks): Buffer {
  const checked = checkMessage(raw);
  const headers = checked.ok ? checked.value.headers : [];
  const own = headerValue(headers, 'list-unsubscribe');
  const added: string[] = [];
  if (own === undefined) {
    added.push(`List-Unsubscribe: <${links.url}>${links.mailto ? `, <mailto:${links.mailto}?subject=unsubscribe>` : ''}`);
  }
  const oneClick = own === undefined || /<https?:/i.test(own);
  const ownPost = headerValue(headers, 'list-unsubscribe-post');
  if (oneClick && ownPost === undefined) added.push('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  if (added.length === 0) return raw;
  return Buffer.concat([Buffer.from(`${added.join('\r\n')}\r\n`), raw]);
}
