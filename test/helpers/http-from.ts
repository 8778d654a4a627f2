import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
}

/**
 * An HTTP request from a chosen loopback source address (127.0.0.2, 127.0.0.3…), so a test
 * can play several clients: one locked out by brute force, another sending meanwhile.
 */
export function httpFrom(
  source: string,
  url: string,
  method: string,
  options: { headers?: Record<string, string>; body?: string | Buffer | unknown } = {},
): Promise<HttpAnswer> {
  const payload =
    options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress: source, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = /json/.test(String(res.headers['content-type'] ?? ''));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: json && text ? JSON.parse(text) : text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
