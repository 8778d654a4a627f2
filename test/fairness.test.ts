import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { testDatabases } from './helpers/databases.ts';
import { Sink } from './helpers/sink.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { day, message, messages, t0, useFixture } from './store/fixtures.ts';

const lease = 60_000;

// Issue 7, item 8: one tenant's due backlog or stalled destination never holds up another's.
for (const kind of testDatabases()) {
  describe(`fair claims (${kind.name})`, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('one instance with 1,000 due deliveries does not fill the claim: the other, sending to the same domain, gets its place at once', async () => {
      const { spool, instance, other } = f();
      await spool.commit(messages('big', instance.id, 1000), t0, t0 + day);
      await spool.commit(messages('small', other.id, 3), t0 + 5, t0 + day);
      const claimed = await spool.claim(t0 + 10, 50, 'w', lease);
      assert.equal(claimed.length, 50);
      assert.equal(claimed.filter((d) => d.instanceId === other.id).length, 3, 'the later, smaller instance is in the first claim');
    });

    test('shares per instance and per destination cap one claim', async () => {
      const { spool, instance, other } = f();
      await spool.commit(messages('a', instance.id, 100), t0, t0 + day);
      await spool.commit(
        [
          message(
            'b',
            other.id,
            Array.from({ length: 40 }, (_, i) => `u${i}@${i % 2 ? 'odd' : 'even'}.test`),
          ),
        ],
        t0,
        t0 + day,
      );
      const claimed = await spool.claim(t0, 500, 'w', lease, { perInstance: 30, perDestination: 10 });
      const ofA = claimed.filter((d) => d.instanceId === instance.id);
      const ofB = claimed.filter((d) => d.instanceId === other.id);
      assert.equal(ofA.length, 10, 'all of A go to example.test: its destination share');
      assert.equal(ofB.length, 20, 'B: 10 for each of its two destinations');
      assert.equal(ofB.filter((d) => d.domain === 'odd.test').length, 10);
    });

    test('skipped instances and destinations stay in the spool, due', async () => {
      const { spool, fleet, instance, other, blue, green } = f();
      await spool.commit(messages('a', instance.id, 5), t0, t0 + day);
      await spool.commit([message('b', other.id, ['x@slow.test', 'y@fast.test'])], t0, t0 + day);
      const first = await spool.claim(t0, 100, 'w', lease, {
        skipInstances: [instance.id],
        skipDestinations: [{ infrastructureId: blue.id, domain: 'slow.test' }],
      });
      assert.deepEqual(
        first.map((d) => d.recipient),
        ['y@fast.test'],
      );
      // The skip names the destination, not the domain: on another infrastructure it is claimed.
      await fleet.rebindInstance(other.id, green.id);
      const second = await spool.claim(t0, 100, 'w', lease, {
        skipInstances: [instance.id],
        skipDestinations: [{ infrastructureId: blue.id, domain: 'slow.test' }],
      });
      assert.deepEqual(
        second.map((d) => d.recipient),
        ['x@slow.test'],
      );
      assert.equal((await spool.claim(t0, 100, 'w', lease)).length, 5);
    });

    test('postpone hands deliveries back unattempted, due at the probe time', async () => {
      const { spool, instance } = f();
      await spool.commit(messages('m', instance.id, 3), t0, t0 + day);
      const claimed = await spool.claim(t0, 10, 'w', lease);
      await spool.postpone(
        claimed.map((d) => d.id),
        'w',
        t0 + 1,
        t0 + 30_000,
      );
      assert.equal(await spool.countInflight(instance.id), 0);
      assert.deepEqual(await spool.claim(t0 + 29_999, 10, 'w', lease), []);
      const again = await spool.claim(t0 + 30_000, 10, 'w', lease);
      assert.equal(again.length, 3);
      assert.ok(
        again.every((d) => d.attempts === 0),
        'no attempt burned',
      );
    });
  });
}

/** Accepts TCP and never says a word: the stalled relay of the issue. Records every connection. */
async function silentServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * Greets and answers EHLO, then never answers again: sessions to it hold their connection
 * slots until the socket timeout (minutes). Records every connection.
 */
async function tarpit(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.write('220 tarpit.example ESMTP\r\n');
    let greeted = false;
    s.on('data', (chunk) => {
      if (!greeted && /^(EHLO|HELO)/im.test(chunk.toString('latin1'))) {
        greeted = true;
        s.write('250 tarpit.example\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** `n` deliveries spread over `domains` recipient domains, in messages of 1,000 recipients. */
/** The healthy tenant's message is at its receiver within 2 s (the figure is printed). */
async function leavesPromptly(h: Harness, key: string, healthy: Sink, label: string): Promise<void> {
  const started = Date.now();
  const sent = await h.api(key, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['someone@good.example'], subject: 'hi', text: 'x' });
  assert.equal(sent.status, 202);
  await healthy.waitFor(1, 2000);
  const elapsed = Date.now() - started;
  console.log(`${label}: the healthy tenant's message left in ${elapsed} ms`);
  assert.ok(elapsed < 2000, `the healthy tenant's message took ${elapsed} ms`);
}

async function sendSpread(h: Harness, key: string, n: number, domains: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let k = 0; k < n; k += 1000) {
    const to = Array.from({ length: Math.min(1000, n - k) }, (_, i) => `r${k + i}@${prefix}${(k + i) % domains}.example`);
    const sent = await h.api(key, 'POST', '/api/v1/messages', { from: 'a@shop.example', to, subject: 's', text: 't' });
    assert.equal(sent.status, 202);
    ids.push(sent.body.id);
  }
  return ids;
}

describe('no tenant stalls another (engine)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ MAILSHIFT_CONNECT_TIMEOUT_MS: '4000' });
  });
  after(() => h.close());

  test('3,000 deliveries to a silent relay and 2,000 to a 451 relay; a third tenant’s message leaves within 2 s', async () => {
    const silent = await silentServer();
    const deferring = await Sink.start(() => ({ code: 451, message: '4.3.0 Try again later' }));
    const healthy = await Sink.start();
    try {
      const stalled = await h.instance('stalled', [`127.0.0.1:${silent.port}`]);
      const refused = await h.instance('refused', [deferring.relay]);
      const good = await h.instance('good', [healthy.relay]);
      // Messages of 1,000 recipients each (the most one message may have).
      const send = async (key: string, n: number, domain: string) => {
        for (let k = 0; k < n; k += 1000) {
          const to = Array.from({ length: 1000 }, (_, i) => `r${k + i}@${domain}`);
          assert.equal((await h.api(key, 'POST', '/api/v1/messages', { from: 'a@shop.example', to, subject: 's', text: 't' })).status, 202);
        }
      };
      await send(stalled.apiKey, 3000, 'silent.example');
      await send(refused.apiKey, 2000, 'deferring.example');
      await eventually(() => silent.connections() > 0 && deferring.attempts.size > 100, 3000, 'both bad destinations busy at once');

      await leavesPromptly(h, good.apiKey, healthy, 'one domain');
      const engine = h.app.services.engine;
      assert.deepEqual(engine.downDestinations(), [], 'it left while the silent relay still held its sessions');
      const stalledId = (await h.app.repositories.fleet.findInstance({ name: 'stalled' }))!.id;
      const heldStalled = engine.heldCounts().perInstance.get(stalledId) ?? 0;
      // A destination's bound defaults to one claim batch.
      assert.ok(heldStalled <= h.app.services.config.claimBatch, `at most a destination's bound of the stalled tenant in memory: ${heldStalled}`);

      // The silent relay is marked down and its deliveries wait in the spool: none lost,
      // none held in memory, none due before the probe.
      await eventually(() => engine.downDestinations().some((d) => d.domain === 'silent.example'), 10_000, 'the silent destination marked down');
      const down = engine.downDestinations().find((d) => d.domain === 'silent.example')!;
      assert.ok(down.until > Date.now() + 10_000, 'down for a while, not retried at once');
      await eventually(
        async () => (await h.admin('GET', '/api/admin/v1/queue')).body.instances.stalled.inflight === 0,
        10_000,
        'nothing of the stalled tenant in flight',
      );
      const queue = (await h.admin('GET', '/api/admin/v1/queue')).body.instances.stalled;
      assert.equal(queue.scheduled, 3000, `every delivery is scheduled again: ${JSON.stringify(queue)}`);
      const seen = silent.connections();
      assert.ok(seen <= 20, `a few sessions tried the silent relay, not one per delivery: ${seen}`);
      assert.equal(engine.heldCounts().perInstance.get(stalledId), undefined, 'the backlog waits in the spool, not in memory');

      // No tight loop: nothing more reaches the silent relay before its probe is due.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(silent.connections(), seen);
      const more = await h.api(good.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['again@good.example'], subject: 'hi', text: 'y' });
      assert.equal(more.status, 202);
      await healthy.waitFor(2, 2000);
    } finally {
      await silent.close();
      await deferring.close();
      await healthy.close();
    }
  });

  test('3,000 deliveries over 300 domains to one silent relay: it is marked down once for all of them, and a third tenant’s message leaves within 2 s', async () => {
    const silent = await silentServer();
    const healthy = await Sink.start();
    try {
      const stalled = await h.instance('stalled-wide', [`127.0.0.1:${silent.port}`]);
      const good = await h.instance('good-wide', [healthy.relay]);
      const ids = await sendSpread(h, stalled.apiKey, 3000, 300, 'wide');
      await eventually(() => silent.connections() > 0, 3000, 'sessions to the silent relay');

      await leavesPromptly(h, good.apiKey, healthy, 'many domains');

      // The relay, not each of the 300 domains, is marked down, once; every delivery waits in
      // the spool, scheduled, none lost and none held in memory.
      const engine = h.app.services.engine;
      const relay = `127.0.0.1:${silent.port}`;
      await eventually(() => engine.downHops().some((d) => d.hop === relay), 10_000, 'the silent relay marked down');
      const down = engine.downHops().find((d) => d.hop === relay)!;
      assert.ok(down.until > Date.now() + 10_000, 'down for a while, not retried at once');
      await eventually(
        async () => (await h.admin('GET', '/api/admin/v1/queue')).body.instances['stalled-wide'].inflight === 0,
        10_000,
        'nothing of the stalled tenant in flight',
      );
      const queue = (await h.admin('GET', '/api/admin/v1/queue')).body.instances['stalled-wide'];
      assert.equal(queue.scheduled, 3000, `every delivery is scheduled again: ${JSON.stringify(queue)}`);
      const stalledId = (await h.app.repositories.fleet.findInstance({ name: 'stalled-wide' }))!.id;
      assert.equal(engine.heldCounts().perInstance.get(stalledId), undefined, 'the backlog waits in the spool, not in memory');
      const seen = silent.connections();
      assert.ok(seen <= 20, `a few sessions tried the silent relay, not one or more per domain: ${seen}`);
      // Only the deliveries whose own attempt failed burned one; the rest were postponed.
      let attempts = 0;
      for (const id of ids) for (const d of (await h.api(stalled.apiKey, 'GET', `/api/v1/messages/${id}`)).body.deliveries) attempts += d.attempts;
      assert.ok(attempts <= seen, `attempts burned (${attempts}) no more than connections made (${seen})`);

      // No tight loop: nothing more reaches the silent relay before its probe is due.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(silent.connections(), seen);
      const more = await h.api(good.apiKey, 'POST', '/api/v1/messages', { from: 'a@shop.example', to: ['again@good.example'], subject: 'hi', text: 'y' });
      assert.equal(more.status, 202);
      await healthy.waitFor(2, 2000);
    } finally {
      await silent.close();
      await healthy.close();
    }
  });

  test('an infrastructure with a dead relay and a live one: the dead one is marked down, everything leaves through the live one', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const live = await Sink.start();
    try {
      const creds = await h.instance('two-relays', [`127.0.0.1:${deadPort}`, live.relay]);
      await sendSpread(h, creds.apiKey, 200, 20, 'pair');
      await live.waitFor(200, 10_000);
      const engine = h.app.services.engine;
      assert.ok(
        engine.downHops().some((d) => d.hop === `127.0.0.1:${deadPort}`),
        'the dead relay is marked down',
      );
      assert.equal(engine.downDestinations().filter((d) => d.domain.startsWith('pair')).length, 0, 'its domains are not: they have a live relay');
      const queue = (await h.admin('GET', '/api/admin/v1/queue')).body.instances['two-relays'];
      assert.equal(queue.scheduled ?? 0, 0, `nothing deferred: ${JSON.stringify(queue)}`);
    } finally {
      await live.close();
    }
  });

  test('3,000 deliveries over 300 domains to a relay that greets and then never answers: one tenant holds at most half the connection slots, and another’s message leaves within 2 s', async () => {
    const stall = await tarpit();
    const healthy = await Sink.start();
    try {
      const stalled = await h.instance('tarpitted', [`127.0.0.1:${stall.port}`]);
      const good = await h.instance('good-tarpit', [healthy.relay]);
      const engine = h.app.services.engine;
      const max = h.app.services.config.maxOutboundConnections;
      const stalledId = (await h.app.repositories.fleet.findInstance({ name: 'tarpitted' }))!.id;
      await sendSpread(h, stalled.apiKey, 3000, 300, 'tar');
      // Without a bound per instance its 500 held deliveries over 300 domains would take every slot.
      await eventually(() => (engine.connectionCounts().perInstance.get(stalledId) ?? 0) >= max / 2, 5000, 'the stalled tenant at its share of the slots');

      await leavesPromptly(h, good.apiKey, healthy, 'tarpit');
      const held = engine.connectionCounts().perInstance.get(stalledId) ?? 0;
      assert.ok(held <= max / 2, `at most half the slots held by one instance: ${held} of ${max}`);
      assert.ok(stall.connections() <= max / 2, `connections to the stalled relay: ${stall.connections()}`);
    } finally {
      await stall.close();
      await healthy.close();
    }
  });
});
