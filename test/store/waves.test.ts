import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, t0, useFixture } from './fixtures.ts';
import { published } from './program-fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('waves come back in order with their phase, retry flag and state; setWave records progress', async () => {
      const fx = f();
      const program = await published(fx);
      const waves = await fx.waves.waves(program.id);
      assert.deepEqual(
        waves.map((w) => [w.idx, w.phase, w.retry, w.state, w.start]),
        [
          [1, 'non-production', false, 'scheduled', t0 + 8 * day],
          [2, 'non-production', true, 'scheduled', t0 + 8 * day + 3_600_000],
          [3, 'production', false, 'scheduled', t0 + 31 * day],
        ],
      );
      await fx.waves.setWave(waves[0]!.id, { state: 'running', actual_start: t0 + 8 * day + 5 });
      await fx.waves.setWave(waves[0]!.id, { state: 'completed', actual_end: t0 + 8 * day + 60_000 });
      const [first, second] = await fx.waves.waves(program.id);
      assert.deepEqual([first!.state, first!.actualStart, first!.actualEnd], ['completed', t0 + 8 * day + 5, t0 + 8 * day + 60_000]);
      assert.deepEqual([second!.state, second!.actualStart], ['scheduled', null]);
    });
  });
}
