import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../../test/helpers/databases.ts';
import { t0, useFixture } from '../../test/store/fixtures.ts';
import { CaptureService } from './capture-service.ts';

for (const kind of testDatabases()) {
  describe(`CaptureService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('lists newest first with subject and Message-ID read from the headers; the source only when asked', async () => {
      const f = fixture();
      const s = new CaptureService(f.captures);
      const raws = [
        'From: a@acme.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <1@acme.test>\r\n\r\nbody',
        'From: b@acme.test\r\nSubject: Two\r\n\r\nbody two',
        'no headers here',
      ].map((r) => Buffer.from(r));
      await f.captures.add('a@acme.test', ['x@example.com'], raws[0], t0);
      await f.captures.add('b@acme.test', ['y@example.com', 'z@example.com'], raws[1], t0 + 1);
      await f.captures.add('c@acme.test', ['w@example.com'], raws[2], t0 + 2);
      const listed = await s.list(10);
      assert.deepEqual(
        listed.map(({ mailFrom, recipients, subject, messageId, size, receivedAt }) => ({ mailFrom, recipients, subject, messageId, size, receivedAt })),
        [
          { mailFrom: 'c@acme.test', recipients: ['w@example.com'], subject: null, messageId: null, size: raws[2].length, receivedAt: t0 + 2 },
          {
            mailFrom: 'b@acme.test',
            recipients: ['y@example.com', 'z@example.com'],
            subject: 'Two',
            messageId: null,
            size: raws[1].length,
            receivedAt: t0 + 1,
          },
          {
            mailFrom: 'a@acme.test',
            recipients: ['x@example.com'],
            subject: '=?utf-8?q?caf=C3=A9?=',
            messageId: '<1@acme.test>',
            size: raws[0].length,
            receivedAt: t0,
          },
        ],
      );
      assert.ok(listed.every((m) => !('raw' in m)));
      const withRaw = await s.list(1, true);
      assert.deepEqual(
        withRaw.map((m) => m.raw),
        ['no headers here'],
      );
    });

    test('clearing forgets every captured message', async () => {
      const f = fixture();
      const s = new CaptureService(f.captures);
      await f.captures.add('a@acme.test', ['x@example.com'], Buffer.from('From: a@acme.test\r\n\r\nx'), t0);
      await s.clear();
      assert.deepEqual(await s.list(10), []);
    });
  });
}
