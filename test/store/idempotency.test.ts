import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isUniqueViolation } from '../../src/store/unique-violation.ts';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('a second commit with the same idempotency key is refused whole, so nothing is sent twice', async () => {
      const fx = f();
      const idem = { key: 'retry-1', requestHash: 'h', response: '{"id":"first"}' };
      await fx.spool.commit([{ ...message('first', fx.instance.id, ['a@example.test']), idempotency: idem }], t0, t0 + day);
      const second = fx.spool.commit(
        [{ ...message('second', fx.instance.id, ['a@example.test']), idempotency: { ...idem, response: '{"id":"second"}' } }],
        t0 + 1,
        t0 + day,
      );
      await assert.rejects(second, (err) => isUniqueViolation(err));
      assert.equal(await fx.spool.findMessage('second'), undefined);
      assert.deepEqual(await fx.idempotency.find(fx.instance.id, 'retry-1'), { requestHash: 'h', response: '{"id":"first"}' });
      // The same key is free for another instance.
      await fx.spool.commit([{ ...message('other', fx.other.id, ['a@example.test']), idempotency: idem }], t0 + 2, t0 + day);
      assert.ok(await fx.spool.findMessage('other'));
    });
  });
}
