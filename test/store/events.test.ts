import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('eventsAfter pages through one instance events by cursor', async () => {
      const fx = f();
      for (let i = 0; i < 4; i++) {
        await fx.spool.commit([message(`mine-${i}`, fx.instance.id, ['a@x.test', 'b@x.test'], { suppressed: { 'b@x.test': 'manual' } })], t0 + i, t0 + day);
        await fx.spool.commit([message(`theirs-${i}`, fx.other.id, ['c@x.test'])], t0 + i, t0 + day);
      }
      const all = await fx.events.eventsAfter(fx.instance.id, 0, 1_000);
      assert.equal(all.length, 8);
      assert.ok(all.every((e) => e.instanceId === fx.instance.id));

      const paged: number[] = [];
      let cursor = 0;
      for (;;) {
        const page = await fx.events.eventsAfter(fx.instance.id, cursor, 3);
        assert.ok(page.length <= 3);
        if (page.length === 0) break;
        paged.push(...page.map((e) => e.id));
        cursor = page[page.length - 1]!.id;
      }
      assert.deepEqual(
        paged,
        all.map((e) => e.id),
      );
      assert.deepEqual(
        paged,
        [...paged].sort((x, y) => x - y),
      );
      assert.deepEqual(await fx.events.eventsAfter(fx.instance.id, cursor, 3), []);

      const recent = await fx.events.recentEvents(fx.instance.id, 2);
      assert.deepEqual(
        recent.map((e) => e.id),
        all
          .slice(-2)
          .map((e) => e.id)
          .reverse(),
      );
    });

    test('addEvents stores events about no delivery beside the spool ones, each for its own instance', async () => {
      const fx = f();
      await fx.spool.commit([message('m-1', fx.instance.id, ['a@x.test'])], t0, t0 + day);
      await fx.events.addEvents([]);
      await fx.events.addEvents([
        { instanceId: fx.instance.id, type: 'upgrade.scheduled', at: t0 + 1, detail: { program: 'move' } },
        { instanceId: fx.other.id, type: 'upgrade.started', at: t0 + 2, detail: { program: 'move' } },
      ]);
      const mine = await fx.events.eventsAfter(fx.instance.id, 0, 10);
      assert.deepEqual(
        mine.map((e) => [e.type, e.messageId, e.deliveryId, e.recipient]),
        [
          ['accepted', 'm-1', null, null],
          ['upgrade.scheduled', null, null, null],
        ],
      );
      assert.deepEqual(mine[1]!.detail, { program: 'move' });
      assert.deepEqual(
        (await fx.events.eventsAfter(fx.other.id, 0, 10)).map((e) => e.type),
        ['upgrade.started'],
      );
      assert.deepEqual(
        (await fx.events.eventsForMessage('m-1')).map((e) => e.type),
        ['accepted'],
      );
    });
  });
}
