import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventRecord } from '../../src/store/event-repository.ts';
import type { ClaimedDelivery } from '../../src/store/spool-repository.ts';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture, type Fixture } from './fixtures.ts';

const lease = 60_000;

/** Commits one message for `recipient` at t0 and claims its delivery at t0. */
async function claimOne(f: Fixture, id: string, recipient = 'ann@example.test', instanceId = f.instance.id): Promise<ClaimedDelivery> {
  await f.spool.commit([message(id, instanceId, [recipient])], t0, t0 + day);
  const claimed = await f.spool.claim(t0, 1, 'w', lease);
  assert.equal(claimed.length, 1);
  return claimed[0]!;
}

async function row(f: Fixture, messageId: string) {
  const [d] = await f.spool.deliveriesOf(messageId);
  assert.ok(d);
  return d;
}

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('delivered: final, one attempt, never claimed again', async () => {
      const fx = f();
      const d = await claimOne(fx, 'm-1');
      await fx.spool.record([{ kind: 'delivered', delivery: d, reply: '250 2.0.0 queued as X', at: t0 + 100 }]);
      const r = await row(fx, 'm-1');
      assert.deepEqual([r.state, r.attempts, r.lastReply, r.lastCategory], ['delivered', 1, '250 2.0.0 queued as X', null]);
      assert.equal(await fx.spool.countInflight(fx.instance.id), 0);
      assert.deepEqual(await fx.spool.claim(t0 + 10 * day, 10, 'w', lease), []);

      const [, delivered] = await fx.events.eventsForMessage('m-1');
      assert.deepEqual({ ...delivered, id: 0 }, {
        id: 0,
        instanceId: fx.instance.id,
        messageId: 'm-1',
        deliveryId: d.id,
        type: 'delivered',
        recipient: 'ann@example.test',
        at: t0 + 100,
        detail: { reply: '250 2.0.0 queued as X', attempt: 1, infrastructureId: fx.blue.id },
      } satisfies EventRecord);
    });

    test('deferred: back to scheduled, attempts + 1, due at retryAt and not before', async () => {
      const fx = f();
      const d = await claimOne(fx, 'm-1');
      const retryAt = t0 + 15 * 60_000;
      await fx.spool.record([{ kind: 'deferred', delivery: d, reply: '451 4.7.1 greylisted', category: 'rate-limited', at: t0 + 100, retryAt }]);
      const r = await row(fx, 'm-1');
      assert.deepEqual([r.state, r.attempts, r.dueAt, r.lastReply, r.lastCategory], ['scheduled', 1, retryAt, '451 4.7.1 greylisted', 'rate-limited']);
      assert.equal(await fx.spool.countInflight(fx.instance.id), 0);

      assert.deepEqual(await fx.spool.claim(retryAt - 1, 10, 'w', lease), []);
      const [again] = await fx.spool.claim(retryAt, 10, 'w', lease);
      assert.equal(again?.id, d.id);
      assert.equal(again?.attempts, 1);

      const events = await fx.events.eventsForMessage('m-1');
      assert.deepEqual(
        events.map((e) => e.type),
        ['accepted', 'deferred'],
      );
      assert.deepEqual(events[1]!.detail, {
        reply: '451 4.7.1 greylisted',
        attempt: 1,
        category: 'rate-limited',
        retryAt: new Date(retryAt).toISOString(),
        infrastructureId: fx.blue.id,
      });
    });

    test('bounced with suppress: final and the recipient is suppressed, case-insensitively', async () => {
      const fx = f();
      const d = await claimOne(fx, 'm-1', 'Ann.Smith@Example.TEST');
      await fx.spool.record([{ kind: 'bounced', delivery: d, reply: '550 5.1.1 no such user', category: 'unknown-user', at: t0 + 100, suppress: true }]);
      const r = await row(fx, 'm-1');
      assert.deepEqual([r.state, r.attempts, r.lastCategory], ['bounced', 1, 'unknown-user']);

      const found = await fx.suppressions.matching(fx.instance.id, ['ann.smith@example.test', 'ANN.SMITH@EXAMPLE.TEST', 'bob@example.test']);
      assert.deepEqual([...found.keys()], ['ann.smith@example.test']);
      assert.match(found.get('ann.smith@example.test')!, /550 5\.1\.1 no such user/);
      assert.equal((await fx.suppressions.matching(fx.other.id, ['ann.smith@example.test'])).size, 0, 'suppression is per instance');
      assert.deepEqual(
        (await fx.suppressions.list(fx.instance.id)).map((s) => [s.address, s.createdAt]),
        [['ann.smith@example.test', t0 + 100]],
      );
      assert.equal((await fx.events.eventsForMessage('m-1'))[1]!.type, 'bounced');
    });

    test('bounced without suppress adds no suppression; a bounce of an already suppressed address is fine', async () => {
      const fx = f();
      const d1 = await claimOne(fx, 'm-1', 'ann@example.test');
      await fx.spool.record([{ kind: 'bounced', delivery: d1, reply: '552 mailbox full', category: 'mailbox-full', at: t0 + 1, suppress: false }]);
      assert.equal((await row(fx, 'm-1')).state, 'bounced');
      assert.deepEqual(await fx.suppressions.list(fx.instance.id), []);

      await fx.suppressions.add(fx.instance.id, 'bob@example.test', 'manual', t0);
      const d2 = await claimOne(fx, 'm-2', 'bob@example.test');
      await fx.spool.record([{ kind: 'bounced', delivery: d2, reply: '550 gone', category: 'unknown-user', at: t0 + 2, suppress: true }]);
      assert.deepEqual(
        (await fx.suppressions.list(fx.instance.id)).map((s) => s.reason),
        ['manual'],
      );
    });

    test('expired: final and burns no attempt', async () => {
      const fx = f();
      const d = await claimOne(fx, 'm-1');
      await fx.spool.record([{ kind: 'expired', delivery: d, reply: 'expired after 3 days', category: 'other', at: t0 + day }]);
      const r = await row(fx, 'm-1');
      assert.deepEqual([r.state, r.attempts], ['expired', 0]);
      assert.deepEqual(await fx.spool.claim(t0 + 10 * day, 10, 'w', lease), []);
      const [, expired] = await fx.events.eventsForMessage('m-1');
      assert.equal(expired!.type, 'expired');
      assert.deepEqual(expired!.detail, { reply: 'expired after 3 days', attempt: 0, category: 'other', infrastructureId: fx.blue.id });
    });

    test('events of a message follow its outcomes in order', async () => {
      const fx = f();
      await fx.spool.commit([message('m-1', fx.instance.id, ['a@example.test', 'b@example.test'])], t0, t0 + day);
      const [a, b] = (await fx.spool.claim(t0, 10, 'w', lease)).sort((x, y) => x.recipient.localeCompare(y.recipient));
      await fx.spool.record([
        { kind: 'deferred', delivery: a!, reply: '421', category: 'connection', at: t0 + 1, retryAt: t0 + 1_000 },
        { kind: 'bounced', delivery: b!, reply: '550', category: 'unknown-user', at: t0 + 2, suppress: false },
      ]);
      const [a2] = await fx.spool.claim(t0 + 1_000, 10, 'w', lease);
      await fx.spool.record([{ kind: 'delivered', delivery: a2!, reply: '250', at: t0 + 1_001 }]);

      const events = await fx.events.eventsForMessage('m-1');
      assert.deepEqual(
        events.map((e) => [e.type, e.recipient, e.detail.attempt]),
        [
          ['accepted', null, undefined],
          ['deferred', 'a@example.test', 1],
          ['bounced', 'b@example.test', 1],
          ['delivered', 'a@example.test', 2],
        ],
      );
      assert.deepEqual(
        events.map((e) => e.id),
        [...events.map((e) => e.id)].sort((x, y) => x - y),
      );
      assert.deepEqual([(await row(fx, 'm-1')).attempts], [2]);
    });

    test('recording many outcomes at once is one step', async () => {
      const fx = f();
      await fx.spool.commit([message('m-1', fx.instance.id, ['a@x.test', 'b@x.test', 'c@x.test'])], t0, t0 + day);
      const claimed = await fx.spool.claim(t0, 10, 'w', lease);
      await fx.spool.record(claimed.map((d) => ({ kind: 'delivered' as const, delivery: d, reply: '250', at: t0 + 5 })));
      assert.deepEqual(
        (await fx.spool.deliveriesOf('m-1')).map((d) => d.state),
        ['delivered', 'delivered', 'delivered'],
      );
      await fx.spool.record([]);
    });

    test('in one batch, an outcome whose claim was lost is dropped and a repeated one counts once', async () => {
      const fx = f();
      await fx.spool.commit([message('m-1', fx.instance.id, ['a@x.test', 'b@x.test', 'c@x.test'])], t0, t0 + day);
      const [a, b, c] = (await fx.spool.claim(t0, 10, 'node-1', lease)).sort((x, y) => x.recipient.localeCompare(y.recipient));
      // node-1 was found dead: b went back to the spool and node-2 holds it now.
      await fx.spool.releaseOwners(['node-1'], t0 + 1);
      const again = await fx.spool.claim(t0 + 1, 10, 'node-2', lease);
      const bAgain = again.find((d) => d.id === b!.id)!;
      await fx.spool.record([{ kind: 'deferred', delivery: bAgain, reply: '421', category: 'connection', at: t0 + 2, retryAt: t0 + 60_000 }]);
      const aAgain = again.find((d) => d.id === a!.id)!;
      const cAgain = again.find((d) => d.id === c!.id)!;
      await fx.spool.record([
        { kind: 'delivered', delivery: a!, reply: '250 late', at: t0 + 3 },
        { kind: 'delivered', delivery: aAgain, reply: '250 first', at: t0 + 3 },
        { kind: 'delivered', delivery: aAgain, reply: '250 repeated', at: t0 + 3 },
        { kind: 'bounced', delivery: cAgain, reply: '550 gone', category: 'unknown-user', at: t0 + 3, suppress: true },
      ]);
      const byRecipient = Object.fromEntries((await fx.spool.deliveriesOf('m-1')).map((d) => [d.recipient, [d.state, d.lastReply, d.attempts]]));
      assert.deepEqual(byRecipient, {
        'a@x.test': ['delivered', '250 first', 1],
        'b@x.test': ['scheduled', '421', 1],
        'c@x.test': ['bounced', '550 gone', 1],
      });
      const events = (await fx.events.eventsForMessage('m-1')).filter((e) => e.type !== 'accepted');
      assert.deepEqual(
        events.map((e) => [e.type, e.recipient, e.detail.reply]),
        [
          ['deferred', 'b@x.test', '421'],
          ['delivered', 'a@x.test', '250 first'],
          ['bounced', 'c@x.test', '550 gone'],
        ],
      );
      assert.equal((await fx.suppressions.list(fx.instance.id)).length, 1);
    });
  });
}
