import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { day, t0, useFixture } from '../../test/store/fixtures.ts';
import { ProgramService } from './program-service.ts';
import { hashStatusToken } from './status-token.ts';

const clock = { now: () => t0, sleep: async () => undefined };
const code = (c: string) => (err: unknown) => err instanceof DomainError && err.code === c;
const spec = (name: string) => ({
  name,
  from: 'blue',
  to: 'green',
  nonprodStart: new Date(t0 + 8 * day).toISOString(),
  prodStart: new Date(t0 + 31 * day).toISOString(),
  supportContact: 'help@example.com',
});

for (const kind of testDatabases()) {
  describe(`ProgramService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);
    const service = () => {
      const f = fixture();
      const tokens = f.statusTokens;
      const scheduled: string[] = [];
      const notices = { schedule: async (program: { name: string }) => (scheduled.push(program.name), 3) };
      return {
        f,
        tokens,
        scheduled,
        s: new ProgramService(
          { programs: f.programs, waves: f.waves, switches: f.switches, notices: f.notices, tokens: f.statusTokens, requests: f.customerRequests },
          f.fleet,
          notices,
          clock,
          { supportContact: null },
          () => undefined,
        ),
      };
    };

    test('a status token is stored only as its hash; a new one replaces the old', async () => {
      const { tokens, s } = service();
      const first = await s.issueStatusToken('Acme');
      assert.equal(first.customer, 'Acme');
      assert.match(first.token, /^[A-Za-z0-9_-]{24}$/);
      const customer = await tokens.customerOfToken(hashStatusToken(first.token));
      assert.ok(customer !== undefined, 'the hash opens the customer');
      assert.equal(await tokens.customerOfToken(first.token), undefined, 'the token itself is not stored');
      const second = await s.issueStatusToken('Acme');
      assert.notEqual(second.token, first.token);
      assert.equal(await tokens.customerOfToken(hashStatusToken(first.token)), undefined, 'the old link stops working');
      assert.equal(await tokens.customerOfToken(hashStatusToken(second.token)), customer);
      await assert.rejects(s.issueStatusToken('Nobody'), code('not-found'));
    });

    test('lists programs; notices of a program and of a customer once published', async () => {
      const { s, scheduled } = service();
      assert.deepEqual(await s.list(), []);
      await s.create(spec('move'));
      assert.deepEqual(
        (await s.list()).map((p) => [p.name, p.state]),
        [['move', 'draft']],
      );
      const published = await s.publish('move');
      assert.equal(published.notices, 3);
      assert.deepEqual(scheduled, ['move'], 'notices are scheduled once, for the published program');
      // The stand-in queued none: the repository's lists are what the routes show.
      assert.deepEqual(await s.programNotices('move'), []);
      assert.deepEqual(await s.customerNotices('Acme'), []);
      assert.deepEqual(await s.customerNotices('Nobody'), [], 'an unknown customer has no notices');
      await assert.rejects(s.programNotices('nothing'), code('not-found'));
    });

    test('creation refusals come from the spec check, with the field named', async () => {
      const { s } = service();
      await assert.rejects(
        s.create({ ...spec('p'), supportContact: undefined }),
        (err: unknown) => err instanceof DomainError && err.code === 'invalid-request' && /supportContact is required/.test(err.detail),
      );
      await assert.rejects(s.create({ ...spec('p'), to: 'purple' }), code('not-found'));
    });
  });
}
