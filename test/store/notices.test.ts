import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { day, t0, useFixture } from './fixtures.ts';
import { published } from './program-fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('notices: queued pending, due in order, sent, listed per customer and program', async () => {
      const fx = f();
      const program = await published(fx);
      const base = {
        programId: program.id,
        customerId: fx.instance.customerId,
        email: 'ops@acme.test',
        locale: 'es',
        timezone: 'Europe/Madrid',
        waveIdx: 1,
        detail: { n: 1 },
      };
      await fx.notices.addNotices([
        { ...base, kind: 'reminder', dueAt: t0 + 5 * day },
        { ...base, kind: 'scheduled', dueAt: t0 },
      ]);
      const due = await fx.notices.dueNotices(t0 + 1, 10);
      assert.deepEqual(
        due.map((n) => [n.kind, n.state, JSON.parse(n.detail)]),
        [['scheduled', 'pending', { n: 1 }]],
      );
      await fx.notices.noticeSent(due[0]!.id, 'Asunto', 'Cuerpo', 'msg-1', t0 + 2);
      assert.deepEqual(
        (await fx.notices.dueNotices(t0 + 6 * day, 10)).map((n) => n.kind),
        ['reminder'],
      );
      const listed = await fx.notices.notices({ customerId: fx.instance.customerId });
      assert.deepEqual(
        listed.map((n) => [n.kind, n.state, n.subject, n.message_id]),
        [
          ['scheduled', 'sent', 'Asunto', 'msg-1'],
          ['reminder', 'pending', null, null],
        ],
      );
      assert.equal((await fx.notices.notices({ programId: program.id })).length, 2);
      assert.equal((await fx.notices.notices({ programId: program.id + 1 })).length, 0);
    });
  });
}
