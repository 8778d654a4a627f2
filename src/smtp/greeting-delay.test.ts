import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { setGreetingDelay } from './greeting-delay.ts';

/** Connects, sends EHLO before hearing anything, and returns every reply line until the server stops talking. */
async function talkFirst(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('EHLO early.example\r\n'));
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      // Done at the end of the EHLO reply, or at a refusal.
      if (/^250 /m.test(text) || /^421 /m.test(text)) socket.end();
    });
    socket.on('close', () => resolve(text.split('\r\n').filter(Boolean)));
    socket.on('error', reject);
  });
}

async function withServer(delayMs: number | undefined, run: (port: number) => Promise<void>) {
  // Admitted at once, as the injection door admits (its connection caps are synchronous).
  const server = new SMTPServer({ authOptional: true, disableReverseLookup: true, logger: false, onConnect: (_session, callback) => callback() });
  if (delayMs !== undefined) setGreetingDelay(server, delayMs);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    await run((server.server.address() as { port: number }).port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('without a greeting delay, a client that speaks at once is greeted and served', async () => {
  await withServer(0, async (port) => {
    const lines = await talkFirst(port);
    assert.match(lines[0]!, /^220 /);
    assert.ok(
      lines.some((l) => /^250 /.test(l)),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => /talk too soon/i.test(l)));
  });
});

test('with a greeting delay, a client that speaks first is refused as an early talker', async () => {
  for (const delay of [undefined, 300]) {
    await withServer(delay, async (port) => {
      const lines = await talkFirst(port);
      assert.ok(
        lines.some((l) => /^421 .*talk too soon/i.test(l)),
        `delay ${delay ?? 'smtp-server default'}: ${lines.join(' | ')}`,
      );
    });
  }
});
