import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { t0, useFixture } from './fixtures.ts';

const raw = Buffer.concat([Buffer.from('Subject: caf\xe9\r\n\r\n', 'latin1'), Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28, 0x0d, 0x0a])]);

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('add and list round-trip sender, recipients and raw bytes', async () => {
      const { captures } = f();
      const id = await captures.add('news@acme.test', ['a@x.test', 'B@X.test'], raw, t0);
      const [captured, ...rest] = await captures.list(10);
      assert.deepEqual(rest, []);
      assert.equal(captured?.id, id);
      assert.equal(captured?.mailFrom, 'news@acme.test');
      assert.deepEqual(captured?.recipients, ['a@x.test', 'B@X.test']);
      assert.equal(captured?.receivedAt, t0);
      assert.ok(Buffer.isBuffer(captured?.raw));
      assert.ok(captured!.raw.equals(raw), 'raw bytes differ');
    });

    test('list is newest first, limited, and pages with beforeId', async () => {
      const { captures } = f();
      const added: number[] = [];
      for (let i = 0; i < 5; i++) added.push(await captures.add(`s${i}@acme.test`, [`r${i}@x.test`], Buffer.from(`m${i}`), t0 + i));
      const newest = added.slice().reverse();

      const page1 = await captures.list(2);
      assert.deepEqual(
        page1.map((c) => c.id),
        newest.slice(0, 2),
      );
      const page2 = await captures.list(2, page1[1]!.id);
      assert.deepEqual(
        page2.map((c) => c.id),
        newest.slice(2, 4),
      );
      const page3 = await captures.list(2, page2[1]!.id);
      assert.deepEqual(
        page3.map((c) => c.id),
        newest.slice(4),
      );
      assert.deepEqual(await captures.list(2, page3[0]!.id), []);
      assert.deepEqual(page3[0]?.raw.toString(), 'm0');
    });

    test('clear removes everything; later ids still grow', async () => {
      const { captures } = f();
      await captures.add('a@acme.test', ['x@x.test'], raw, t0);
      const last = await captures.add('b@acme.test', ['x@x.test'], raw, t0);
      await captures.clear();
      assert.deepEqual(await captures.list(10), []);
      const next = await captures.add('c@acme.test', ['x@x.test'], raw, t0 + 1);
      assert.ok(next > last, 'ids are not reused after a clear');
      assert.deepEqual(
        (await captures.list(10)).map((c) => c.mailFrom),
        ['c@acme.test'],
      );
    });
  });
}
