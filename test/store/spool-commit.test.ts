import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, message, t0, useFixture } from './fixtures.ts';

/** Every byte value, bare CR/LF, NUL and invalid UTF-8 sequences. */
const binary = Buffer.concat([
  Buffer.from('Subject: =?iso-8859-1?q?caf=E9?=\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
  Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x0a, 0x0d]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
]);

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('commit stores each message once with one delivery per recipient', async () => {
      const { spool, instance, other } = f();
      const expiresAt = t0 + 3 * day;
      await spool.commit(
        [
          message('m-a', instance.id, ['ann@example.test', 'bob@example.org', 'cid@example.test'], { suppressed: { 'bob@example.org': 'complaint' } }),
          message('m-b', instance.id, ['dan@example.net', 'eve@example.net'], { raw: binary }),
          message('m-c', other.id, ['fay@example.com', 'gus@example.com'], { suppressed: { 'fay@example.com': 'bounce', 'gus@example.com': 'manual' } }),
        ],
        t0,
        expiresAt,
      );

      const a = await spool.deliveriesOf('m-a');
      assert.deepEqual(
        a.map((d) => [d.recipient, d.state, d.attempts, d.dueAt]),
        [
          ['ann@example.test', 'scheduled', 0, t0],
          ['bob@example.org', 'suppressed', 0, t0],
          ['cid@example.test', 'scheduled', 0, t0],
        ],
      );
      assert.equal(a[1]!.lastReply, 'complaint');
      assert.equal(a[1]!.lastCategory, 'suppressed');
      assert.equal(a[0]!.lastReply, null);
      assert.equal(new Set(a.map((d) => d.id)).size, 3);
      assert.deepEqual(
        (await spool.deliveriesOf('m-b')).map((d) => d.state),
        ['scheduled', 'scheduled'],
      );
      assert.deepEqual(
        (await spool.deliveriesOf('m-c')).map((d) => d.state),
        ['suppressed', 'suppressed'],
      );
      assert.deepEqual(await spool.deliveriesOf('m-unknown'), []);

      const found = await spool.findMessage('m-b');
      assert.deepEqual(found, {
        id: 'm-b',
        instanceId: instance.id,
        mailFrom: 'news@acme.test',
        size: binary.length,
        headerMessageId: '<m-b@acme.test>',
        createdAt: t0,
      });
      assert.equal(await spool.findMessage('m-unknown'), undefined);
    });

    test('commit writes one accepted event per message and one suppressed event per suppressed recipient', async () => {
      const { spool, instance, other } = f();
      const a = message('m-a', instance.id, ['ann@example.test', 'bob@example.org', 'cid@example.test'], { suppressed: { 'bob@example.org': 'complaint' } });
      const c = message('m-c', other.id, ['fay@example.com', 'gus@example.com'], { suppressed: { 'fay@example.com': 'bounce', 'gus@example.com': 'manual' } });
      await spool.commit([a, message('m-b', instance.id, ['dan@example.net'])], t0, t0 + day);
      await spool.commit([c], t0 + 1, t0 + day);

      const eventsA = await f().events.eventsForMessage('m-a');
      assert.deepEqual(
        eventsA.map((e) => [e.type, e.recipient, e.instanceId, e.at]),
        [
          ['accepted', null, instance.id, t0],
          ['suppressed', 'bob@example.org', instance.id, t0],
        ],
      );
      assert.deepEqual(eventsA[0]!.detail, { recipients: 3, size: a.raw.length });
      assert.deepEqual(eventsA[1]!.detail, { reason: 'complaint' });
      assert.deepEqual(
        (await f().events.eventsForMessage('m-b')).map((e) => e.type),
        ['accepted'],
      );
      assert.deepEqual(
        (await f().events.eventsForMessage('m-c')).map((e) => [e.type, e.recipient, e.detail]),
        [
          ['accepted', null, { recipients: 2, size: c.raw.length }],
          ['suppressed', 'fay@example.com', { reason: 'bounce' }],
          ['suppressed', 'gus@example.com', { reason: 'manual' }],
        ],
      );
      assert.deepEqual(await f().events.eventsForMessage('m-unknown'), []);
    });

    test('suppressions left to the commit are looked up as it writes, per instance and in either form', async () => {
      const { spool, suppressions, instance, other } = f();
      await suppressions.add(instance.id, 'bob@example.org', 'complaint', t0);
      await suppressions.add(instance.id, 'cid@bücher.example', 'bounce', t0);
      await suppressions.add(other.id, 'ann@example.test', 'manual', t0);
      // Suppressed in both forms: the A-label one's reason is the one kept.
      await suppressions.add(instance.id, 'eve@bücher.example', 'manual', t0);
      await suppressions.add(instance.id, 'eve@xn--bcher-kva.example', 'complaint', t0);
      const unchecked = (m: ReturnType<typeof message>, given: Record<string, string> = {}) => ({
        ...m,
        suppressionsUnchecked: true,
        recipients: m.recipients.map((r) => (given[r.address] ? { ...r, given: given[r.address] } : r)),
      });
      // The second message's second recipient is found in the form its client gave; the third
      // message's were answered before (its reason kept, nothing looked up).
      const a = unchecked(message('m-a', instance.id, ['ann@example.test', 'BOB@example.org']));
      const b = unchecked(message('m-b', instance.id, ['dan@example.net', 'cid@xn--bcher-kva.example', 'eve@xn--bcher-kva.example']), {
        'cid@xn--bcher-kva.example': 'cid@bücher.example',
        'eve@xn--bcher-kva.example': 'eve@bücher.example',
      });
      const c = message('m-c', instance.id, ['bob@example.org'], { suppressed: { 'bob@example.org': 'checked before' } });
      const d = unchecked(message('m-d', other.id, ['ann@example.test', 'bob@example.org']));
      await spool.commit([a, b, c, d], t0, t0 + day);

      const states = async (id: string) => (await spool.deliveriesOf(id)).map((x) => [x.recipient, x.state, x.lastReply]);
      assert.deepEqual(await states('m-a'), [
        ['ann@example.test', 'scheduled', null],
        ['BOB@example.org', 'suppressed', 'suppressed: complaint'],
      ]);
      assert.deepEqual(await states('m-b'), [
        ['dan@example.net', 'scheduled', null],
        ['cid@xn--bcher-kva.example', 'suppressed', 'suppressed: bounce'],
        ['eve@xn--bcher-kva.example', 'suppressed', 'suppressed: complaint'],
      ]);
      assert.deepEqual(await states('m-c'), [['bob@example.org', 'suppressed', 'checked before']]);
      assert.deepEqual(await states('m-d'), [
        ['ann@example.test', 'suppressed', 'suppressed: manual'],
        ['bob@example.org', 'scheduled', null],
      ]);
      assert.deepEqual(
        (await f().events.eventsForMessage('m-a')).map((e) => [e.type, e.recipient, e.detail]),
        [
          ['accepted', null, { recipients: 2, size: a.raw.length }],
          ['suppressed', 'BOB@example.org', { reason: 'suppressed: complaint' }],
        ],
      );

      // Past one statement's parameters (PostgreSQL's other path): the same look-up.
      const many = Array.from({ length: 4000 }, (_, i) => `r${i}@example.test`);
      await suppressions.add(instance.id, 'r3999@example.test', 'bounce', t0);
      await spool.commit([unchecked(message('m-big', instance.id, many))], t0, t0 + day);
      const big = await spool.deliveriesOf('m-big');
      assert.equal(big.length, 4000);
      assert.deepEqual(
        big.filter((x) => x.state === 'suppressed').map((x) => [x.recipient, x.lastReply]),
        [['r3999@example.test', 'suppressed: bounce']],
      );
    });

    test('raw bytes round-trip exactly, including non-UTF-8 bytes', async () => {
      const { spool, instance } = f();
      await spool.commit([message('m-bin', instance.id, ['ann@example.test'], { raw: binary })], t0, t0 + day);
      const loaded = await spool.loadMessage('m-bin');
      assert.ok(loaded);
      assert.ok(Buffer.isBuffer(loaded.raw));
      assert.equal(loaded.raw.length, binary.length);
      assert.ok(loaded.raw.equals(binary), 'raw bytes differ');
      assert.equal(loaded.mailFrom, 'news@acme.test');
      assert.equal(loaded.createdAt, t0);
      assert.equal(await spool.loadMessage('m-unknown'), undefined);
    });

    test('an idempotency key is stored with its message and found per instance', async () => {
      const { spool, instance, other } = f();
      const keyed = {
        ...message('m-k', instance.id, ['ann@example.test']),
        idempotency: { key: 'order-42', requestHash: 'sha256:abc', response: '{"id":"m-k"}' },
      };
      await spool.commit([keyed, message('m-plain', instance.id, ['bob@example.test'])], t0, t0 + day);

      assert.deepEqual(await f().idempotency.find(instance.id, 'order-42'), { requestHash: 'sha256:abc', response: '{"id":"m-k"}' });
      assert.equal(await f().idempotency.find(other.id, 'order-42'), undefined);
      assert.equal(await f().idempotency.find(instance.id, 'order-43'), undefined);

      // The same key on another instance is a different key.
      await spool.commit(
        [{ ...message('m-k2', other.id, ['ann@example.test']), idempotency: { key: 'order-42', requestHash: 'sha256:def', response: '{"id":"m-k2"}' } }],
        t0 + 1,
        t0 + day,
      );
      assert.deepEqual(await f().idempotency.find(other.id, 'order-42'), { requestHash: 'sha256:def', response: '{"id":"m-k2"}' });
      assert.deepEqual(await f().idempotency.find(instance.id, 'order-42'), { requestHash: 'sha256:abc', response: '{"id":"m-k"}' });
    });

    test('a failing group commit stores nothing of its batch', async () => {
      const { spool, instance } = f();
      await spool.commit([message('m-1', instance.id, ['ann@example.test'])], t0, t0 + day);
      const batch = [
        { ...message('m-2', instance.id, ['bob@example.test']), idempotency: { key: 'k-2', requestHash: 'h', response: 'r' } },
        message('m-1', instance.id, ['cid@example.test']),
      ];
      await assert.rejects(spool.commit(batch, t0 + 1, t0 + day));

      assert.equal(await spool.findMessage('m-2'), undefined);
      assert.deepEqual(await spool.deliveriesOf('m-2'), []);
      assert.deepEqual(await f().events.eventsForMessage('m-2'), []);
      assert.equal(await f().idempotency.find(instance.id, 'k-2'), undefined);
      assert.deepEqual(
        (await spool.deliveriesOf('m-1')).map((d) => d.recipient),
        ['ann@example.test'],
      );
      assert.deepEqual(
        (await f().events.eventsForMessage('m-1')).map((e) => e.type),
        ['accepted'],
      );
    });

    test('a message without recipients is stored with its accepted event and no delivery', async () => {
      const { spool, instance } = f();
      await spool.commit([message('m-none', instance.id, [])], t0, t0 + day);
      assert.equal((await spool.findMessage('m-none'))?.id, 'm-none');
      assert.deepEqual(await spool.deliveriesOf('m-none'), []);
      assert.deepEqual(
        (await f().events.eventsForMessage('m-none')).map((e) => e.type),
        ['accepted'],
      );
    });

    test('committing nothing is a no-op', async () => {
      const { spool } = f();
      await spool.commit([], t0, t0 + day);
      assert.deepEqual(await spool.queueCounts(), []);
    });

    test('a large group commit keeps every delivery', async () => {
      const { spool, instance } = f();
      const recipients = Array.from({ length: 40 }, (_, i) => `r${i}@example.test`);
      const batch = Array.from({ length: 30 }, (_, i) => message(`m-${i}`, instance.id, recipients));
      await spool.commit(batch, t0, t0 + day);
      assert.deepEqual(await spool.queueCounts(), [{ instanceId: instance.id, state: 'scheduled', count: 1200 }]);
      assert.equal((await spool.deliveriesOf('m-29')).length, 40);
      assert.equal((await f().events.eventsAfter(instance.id, 0, 100)).filter((e) => e.type === 'accepted').length, 30);
    });
  });
}
