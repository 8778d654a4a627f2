import assert from 'node:assert/strict';
import { Sink } from './sink.ts';
import type { TestCertificates } from './test-certificates.ts';
import { eventually, type Harness } from './harness.ts';

export type Delivery = { state: string; attempts: number; lastReply: string; lastCategory?: string };
export type Tls = { version: string; verified: boolean } | null | undefined;

/**
 * Sends one message with `apiKey` to `to` and waits for its first attempt: the delivery then,
 * and the TLS outcome its event recorded.
 */
export async function attemptOnce(h: Harness, apiKey: string, to: string, timeoutMs = 10_000): Promise<{ delivery: Delivery; tls: Tls }> {
  const sent = await h.api(apiKey, 'POST', '/api/v1/messages', { from: 'news@shop.example', to: [to], subject: 's', text: 't' });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  let view: { deliveries: Delivery[]; events: { type: string; detail: { tls?: Tls } }[] } | undefined;
  await eventually(
    async () => {
      view = (await h.api(apiKey, 'GET', `/api/v1/messages/${sent.body.id}`)).body;
      return view!.deliveries[0].attempts > 0;
    },
    timeoutMs,
    `an attempt to ${to}`,
  );
  const outcome = view!.events.find((e) => e.type === 'delivered' || e.type === 'deferred' || e.type === 'bounced');
  return { delivery: view!.deliveries[0], tls: outcome?.detail.tls };
}

/**
 * MX hosts offering STARTTLS on one port: 127.0.0.2 with a self-signed certificate for
 * `mx-self.tls.example`, 127.0.0.3 with the test CA's for `mx-ca.tls.example`.
 */
export async function startTlsSinks(certs: TestCertificates): Promise<{ selfSigned: Sink; signed: Sink; port: number }> {
  const selfSigned = await Sink.start(undefined, { listen: { address: '127.0.0.2', tls: await certs.selfSigned('mx-self.tls.example') } });
  const signed = await Sink.start(undefined, { listen: { address: '127.0.0.3', port: selfSigned.port, tls: await certs.signed('mx-ca.tls.example') } });
  return { selfSigned, signed, port: selfSigned.port };
}
