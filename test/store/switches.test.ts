import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';
import { published } from './program-fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('a step is persisted only from the state it expects, and logged', async () => {
      const fx = f();
      const program = await published(fx);
      const [sw] = await fx.switches.switches(program.id, 1);
      assert.equal(await fx.switches.transition(sw!.id, 'scheduled', 'prechecking', t0 + 10, { started_at: t0 + 10 }), true);
      assert.equal(await fx.switches.transition(sw!.id, 'scheduled', 'prechecking', t0 + 11), false, 'a second runner loses');
      assert.equal(await fx.switches.transition(sw!.id, 'prechecking', 'rolling-back', t0 + 12, { error: 'pre-check: refused' }, 'pre-check: refused'), true);
      const [after] = await fx.switches.switches(program.id, 1);
      assert.equal(after!.state, 'rolling-back');
      assert.equal(after!.startedAt, t0 + 10);
      assert.equal(after!.error, 'pre-check: refused');
      assert.deepEqual(
        (await fx.switches.switchLog(sw!.id)).map((l) => [l.from, l.to, l.detail]),
        [
          ['scheduled', 'prechecking', null],
          ['prechecking', 'rolling-back', 'pre-check: refused'],
        ],
      );
    });

    test('switchOf finds the instance switch with its program; openOnly leaves out finished programs', async () => {
      const fx = f();
      const program = await published(fx);
      const found = (await fx.switches.switchOf(fx.instance.id))!;
      assert.deepEqual(
        [found.program.name, found.switch.instanceName, found.switch.environment, found.switch.customerId],
        ['move', 'acme-prod', 'production', fx.instance.customerId],
      );
      await fx.programs.setState(program.id, 'completed');
      assert.equal(await fx.switches.switchOf(fx.instance.id), undefined);
      assert.equal((await fx.switches.switchOf(fx.instance.id, false))?.program.state, 'completed');
      assert.equal(await fx.switches.switchOf(999_999, false), undefined);
    });

    test('completed switch durations feed the running estimate', async () => {
      const fx = f();
      const program = await published(fx);
      const [sw] = await fx.switches.switches(program.id, 1);
      for (const [from, to] of [
        ['scheduled', 'prechecking'],
        ['prechecking', 'suspending'],
        ['suspending', 'draining'],
        ['draining', 'rebinding'],
        ['rebinding', 'verifying'],
        ['verifying', 'resuming'],
      ] as const) {
        await fx.switches.transition(sw!.id, from, to, t0, from === 'scheduled' ? { started_at: t0 } : {});
      }
      assert.deepEqual(await fx.switches.completedDurations(), []);
      await fx.switches.transition(sw!.id, 'resuming', 'completed', t0 + 4_000, { switched_at: t0 + 4_000, paused_ms: 1_500, released: 12 });
      assert.deepEqual(await fx.switches.completedDurations(), [4_000]);
    });
  });
}
