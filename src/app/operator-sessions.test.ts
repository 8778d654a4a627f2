import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionRepository } from '../store/session-repository.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { t0, useFixture } from '../../test/store/fixtures.ts';
import { OperatorSessions, sessionLifetimeMs } from './operator-sessions.ts';

const token = 'admin-token-for-session-tests-0123456789';

for (const kind of testDatabases()) {
  describe(`OperatorSessions (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);
    let now = t0;
    const wall = { now: () => now, sleep: async () => undefined };

    test('a session opened is current until it is closed, on every node that shares the store', async () => {
      const f = fixture();
      now = t0;
      const one = new OperatorSessions(new SessionRepository(f.store.db), token, wall);
      const two = new OperatorSessions(new SessionRepository(f.store.db), token, wall);
      const { cookie, expires } = await one.open();
      assert.equal(expires, t0 + sessionLifetimeMs);
      assert.deepEqual((await two.current(cookie))?.expires, expires);
      await two.close(cookie);
      assert.equal(await one.current(cookie), null);
    });

    test('expiry, a changed admin token and forgeries end it without a store read', async () => {
      const f = fixture();
      now = t0;
      const sessions = new OperatorSessions(new SessionRepository(f.store.db), token, wall);
      const { cookie } = await sessions.open();
      assert.equal(await new OperatorSessions(new SessionRepository(f.store.db), `${token}-rotated`, wall).current(cookie), null);
      for (const forged of [
        undefined,
        '',
        'x',
        `${cookie.slice(0, -1)}${cookie.endsWith('A') ? 'B' : 'A'}`,
        cookie.replace(/^\d+/, String(t0 + 2 * sessionLifetimeMs)),
      ])
        assert.equal(await sessions.current(forged), null, String(forged));
      now = t0 + sessionLifetimeMs;
      assert.equal(await sessions.current(cookie), null, 'expired');
    });
  });
}
