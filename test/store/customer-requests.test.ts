import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';
import { published } from './program-fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('requests are recorded with their answers, per program', async () => {
      const fx = f();
      const program = await published(fx);
      await fx.customerRequests.recordRequest(fx.instance.id, program.id, 'reschedule', 'peak season', 'refused: …', t0 + 3);
      await fx.customerRequests.recordRequest(fx.other.id, null, 'opt-out', 'no thanks', 'No upgrade is scheduled.', t0 + 4);
      assert.deepEqual(
        (await fx.customerRequests.requests(program.id)).map((r) => [r.instance, r.kind, r.reason, r.answer, r.at]),
        [['acme-prod', 'reschedule', 'peak season', 'refused: …', t0 + 3]],
      );
    });
  });
}
