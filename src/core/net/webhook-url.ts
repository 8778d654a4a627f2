import { fail, ok, type Result } from '../errors.ts';

export const maxWebhookUrlLength = 2048;

/**
 * A tenant's webhook URL, syntactically: http(s), a host, no credentials. WHATWG `URL`
 * normalises decimal, hex and octal IPv4 hosts (`http://2130706433/` is 127.0.0.1), so
 * the address check that follows sees the address a connection would use.
 */
export function parseWebhookUrl(text: string): Result<URL> {
  if (text.length > maxWebhookUrlLength) return fail('invalid-request', `url is longer than ${maxWebhookUrlLength} characters`);
  if (/[\u0000-\u0020\u007f]/.test(text)) return fail('invalid-request', 'url must not contain spaces or control characters');
  if (!URL.canParse(text)) return fail('invalid-request', 'url is not a valid URL');
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('invalid-request', 'url must be an http or https URL');
  // Credentials would be sent to whoever the host is, and logged with the URL.
  if (url.username !== '' || url.password !== '') return fail('invalid-request', 'url must not carry credentials (user:password@)');
  if (url.hostname === '') return fail('invalid-request', 'url has no host');
  url.hash = '';
  return ok(url);
}

/** The URL's host without IPv6 brackets: an IP literal or a name to resolve. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}
