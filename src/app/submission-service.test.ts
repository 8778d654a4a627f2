import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRetryPolicy } from '../core/delivery/retry-schedule.ts';
import { DomainError } from '../core/errors.ts';
import { Metrics } from '../metrics.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { t0, useFixture, type Fixture } from '../../test/store/fixtures.ts';
import { AcceptService } from './accept-service.ts';
import { FleetNames } from './fleet-names.ts';
import { Idempotency } from './idempotency.ts';
import { InflightBudget } from './inflight-budget.ts';
import { SubmissionService } from './submission-service.ts';

const clock = { now: () => t0, sleep: async () => undefined };
const message = { from: 'news@acme.test', to: ['ann@example.com'], subject: 'Hello', text: 'hi' };
const batch = {
  from: 'news@acme.test',
  subject: 'Hi {{ name }}',
  text: 'Dear {{ name }}',
  recipients: [{ to: 'a@example.com', substitutions: { name: 'A' } }, { to: 'b@example.com' }],
};

/** A gate the acceptor waits at, so a test can hold submissions in progress. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let arrived = 0;
  const waiters: (() => void)[] = [];
  return {
    open,
    async pass() {
      arrived++;
      for (const w of waiters.splice(0)) w();
      await opened;
    },
    /** Resolves once `n` submissions wait at the gate. */
    async reached(n: number) {
      while (arrived < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

function build(f: Fixture, options: { gate?: ReturnType<typeof gate>; inflight?: InflightBudget } = {}) {
  const acceptor = new AcceptService(
    f.spool,
    f.suppressions,
    clock,
    { retry: defaultRetryPolicy, hostname: 'mailshift.test', maxMessageBytes: 1024 * 1024, maxRecipients: 1000 },
    new Metrics(async () => []),
    new FleetNames(f.fleet),
    () => undefined,
  );
  const held = options.gate;
  const gated = {
    accept: async (...args: Parameters<AcceptService['accept']>) => (await held?.pass(), acceptor.accept(...args)),
    acceptAll: async (...args: Parameters<AcceptService['acceptAll']>) => (await held?.pass(), acceptor.acceptAll(...args)),
  };
  const inflight = options.inflight ?? new InflightBudget(64 * 1024 * 1024);
  return new SubmissionService(gated, new Idempotency(f.idempotency), inflight, { maxMessageBytes: 1024 * 1024, batchMaxRenderedBytes: 8 * 1024 * 1024 });
}

async function messagesOf(f: Fixture, instanceId: number): Promise<number> {
  return (await f.spool.queueCounts()).filter((r) => r.instanceId === instanceId).reduce((n, r) => n + r.count, 0);
}

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err) => err instanceof DomainError && err.code === code);
}

for (const kind of testDatabases()) {
  describe(`SubmissionService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('without a key every call sends; with one, a retry replays the stored answer and sends nothing', async () => {
      const f = fixture();
      const s = build(f);
      const a = await s.message(f.instance, message);
      const b = await s.message(f.instance, message);
      assert.notEqual(a.body.id, b.body.id);
      const first = await s.message(f.instance, message, 'k-1');
      const again = await s.message(f.instance, message, 'k-1');
      assert.deepEqual([first.replayed, again.replayed], [false, true]);
      assert.deepEqual(again.body, first.body);
      assert.equal(await messagesOf(f, f.instance.id), 3);
    });

    test('a key reused with another request is idempotency-mismatch; another instance\u2019s key is its own', async () => {
      const f = fixture();
      const s = build(f);
      await s.message(f.instance, message, 'k-2');
      await refused(s.message(f.instance, { ...message, text: 'other' }, 'k-2'), 'idempotency-mismatch');
      const theirs = await s.message(f.other, message, 'k-2');
      assert.equal(theirs.replayed, false);
      assert.equal(await messagesOf(f, f.other.id), 1);
    });

    test('a retry while the first is still in progress is a conflict, and the key is free once it is answered', async () => {
      const f = fixture();
      const held = gate();
      const s = build(f, { gate: held });
      const first = s.message(f.instance, message, 'k-3');
      await held.reached(1);
      await refused(s.message(f.instance, message, 'k-3'), 'conflict');
      held.open();
      assert.equal((await first).replayed, false);
      assert.equal((await s.message(f.instance, message, 'k-3')).replayed, true);
    });

    test('two processes racing with one key: the loser replays the winner\u2019s answer and nothing is sent twice', async () => {
      const f = fixture();
      const held = gate();
      // Two services over one store: two processes, each with its own in-progress set.
      const [one, two] = [build(f, { gate: held }), build(f, { gate: held })];
      const answers = Promise.all([one.message(f.instance, message, 'k-race'), two.message(f.instance, message, 'k-race')]);
      await held.reached(2);
      held.open();
      const [a, b] = await answers;
      assert.deepEqual(a.body, b.body);
      assert.deepEqual([a.replayed, b.replayed].sort(), [false, true]);
      assert.equal(await messagesOf(f, f.instance.id), 1);
    });

    test('raw MIME takes its envelope from its headers unless one is given; a JSON message needs from', async () => {
      const f = fixture();
      const s = build(f);
      const raw = 'From: a@acme.test\r\nTo: to@example.com\r\nCc: cc@example.com\r\nSubject: r\r\n\r\nbody\r\n';
      assert.equal((await s.message(f.instance, { raw })).body.recipients, 2);
      assert.equal((await s.message(f.instance, { raw, recipients: ['only@example.com'] })).body.recipients, 1);
      await refused(s.message(f.instance, { to: ['a@example.com'], text: 'x' }), 'invalid-request');
    });

    test('a batch is one message per recipient, all in one commit, replayed with its key', async () => {
      const f = fixture();
      const s = build(f);
      const first = await s.batch(f.instance, batch, 'b-1');
      assert.equal(first.body.accepted, 2);
      const again = await s.batch(f.instance, batch, 'b-1');
      assert.equal(again.replayed, true);
      assert.deepEqual(again.body, first.body);
      assert.equal(await messagesOf(f, f.instance.id), 2);
    });

    test('two batches of one instance at a time: a third is limit-reached, another instance\u2019s is not; memory is given back', async () => {
      const f = fixture();
      const held = gate();
      const inflight = new InflightBudget(64 * 1024 * 1024);
      const s = build(f, { gate: held, inflight });
      const running = [s.batch(f.instance, batch, undefined), s.batch(f.instance, batch, undefined)];
      await held.reached(2);
      assert.ok(inflight.inUse > 0, 'composed messages hold budget until the commit');
      await refused(s.batch(f.instance, batch, undefined), 'limit-reached');
      const theirs = s.batch(f.other, batch, undefined);
      await held.reached(3);
      held.open();
      await Promise.all([...running, theirs]);
      assert.equal(inflight.inUse, 0);
      assert.equal((await s.batch(f.instance, batch, undefined)).body.accepted, 2);
    });

    test('a failed batch frees its place and its memory', async () => {
      const f = fixture();
      const inflight = new InflightBudget(64 * 1024 * 1024);
      const s = build(f, { inflight });
      for (let i = 0; i < 3; i++) await refused(s.batch(f.instance, { ...batch, recipients: [{ to: 'not an address' }] }, undefined), 'invalid-address');
      assert.equal(inflight.inUse, 0);
      assert.equal((await s.batch(f.instance, batch, undefined)).body.accepted, 2);
    });
  });
}
