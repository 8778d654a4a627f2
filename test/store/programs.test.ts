import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';
import { published, spec } from './program-fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('publish locks waves and one scheduled switch per instance in one step', async () => {
      const fx = f();
      const program = await published(fx);
      const found = (await fx.programs.find({ name: 'move' }))!;
      assert.equal(found.state, 'published');
      assert.equal(found.publishedAt, t0 + 1);
      assert.deepEqual(found.spec, spec);
      assert.deepEqual(
        (await fx.waves.waves(program.id)).map((w) => w.idx),
        [1, 2, 3],
      );
      assert.deepEqual(
        (await fx.switches.switches(program.id)).map((s) => [s.instanceName, s.waveIdx, s.state]),
        [
          ['acme-dev', 1, 'scheduled'],
          ['acme-prod', 3, 'scheduled'],
        ],
      );
      assert.deepEqual(
        (await fx.programs.list(['published'])).map((p) => p.name),
        ['move'],
      );
      assert.deepEqual(await fx.programs.list(['draft']), []);
    });

    test('a program is created as a draft, found by name or id, and halted with its reason', async () => {
      const fx = f();
      const created = await fx.programs.create('move', spec, t0);
      assert.deepEqual(await fx.programs.find({ id: created.id }), created);
      assert.equal(created.state, 'draft');
      await fx.programs.setState(created.id, 'halted', 'too many failures');
      const halted = (await fx.programs.find({ name: 'move' }))!;
      assert.deepEqual([halted.state, halted.haltedReason], ['halted', 'too many failures']);
      await fx.programs.setState(created.id, 'running');
      assert.deepEqual([(await fx.programs.find({ id: created.id }))!.state, (await fx.programs.find({ id: created.id }))!.haltedReason], ['running', null]);
      assert.equal(await fx.programs.find({ name: 'other' }), undefined);
    });
  });
}
