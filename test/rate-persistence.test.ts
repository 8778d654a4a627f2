import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sink } from './helpers/sink.ts';
import { startHarness } from './helpers/harness.ts';

test('a rate limit holds across bursts, even when the destination queue goes idle in between', async () => {
  const sink = await Sink.start();
  const h = await startHarness();
  try {
    const creds = await h.instance('trickle', [sink.relay], {
      infrastructure: { shaping: [{ domain: 'example.com', maxConnections: 2, maxMessagesPerConnection: 10, rate: '2/h' }] },
    });
    for (let burst = 0; burst < 3; burst++) {
      await h.api(creds.apiKey, 'POST', '/api/v1/messages/batch', {
        from: 'a@shop.example',
        subject: 's',
        text: 'x',
        recipients: [{ to: `b${burst}a@example.com` }, { to: `b${burst}b@example.com` }],
      });
      await new Promise((r) => setTimeout(r, 400));
    }
    // A full bucket of 2 goes out; the next token is half an hour away.
    assert.equal(sink.messages.length, 2);
    const queue = (await h.admin('GET', '/api/admin/v1/queue')).body.instances.trickle;
    assert.equal(queue.delivered, 2);
    assert.equal(queue.inflight + queue.scheduled, 4, 'the rest wait, still claimed or scheduled');
  } finally {
    await h.close();
    await sink.close();
  }
});
