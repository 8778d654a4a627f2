import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { message, t0, useFixture } from '../../test/store/fixtures.ts';
import { MessageReads } from './message-reads.ts';

for (const kind of testDatabases()) {
  describe(`MessageReads (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('a message with its deliveries and events; for another instance it does not exist', async () => {
      const f = fixture();
      await f.spool.commit(
        [message('m-1', f.instance.id, ['a@example.test', 'b@example.test'], { suppressed: { 'b@example.test': 'bounced' } })],
        t0,
        t0 + 1000,
      );
      const reads = new MessageReads(f.spool, f.events);
      const found = await reads.get('m-1', f.instance.id);
      assert.equal(found.message.instanceId, f.instance.id);
      assert.equal(found.message.createdAt, t0);
      assert.deepEqual(
        found.deliveries.map((d) => [d.recipient, d.state]),
        [
          ['a@example.test', 'scheduled'],
          ['b@example.test', 'suppressed'],
        ],
      );
      assert.deepEqual(
        found.events.map((e) => e.type),
        ['accepted', 'suppressed'],
      );
      // Operators read any instance's message.
      assert.equal((await reads.get('m-1')).message.id, 'm-1');
      const notFound = (err: unknown) => err instanceof DomainError && err.code === 'not-found' && err.detail === 'no message m-1';
      await assert.rejects(reads.get('m-1', f.other.id), notFound);
      await assert.rejects(reads.get('m-2'), (err) => err instanceof DomainError && err.code === 'not-found');
    });
  });
}
