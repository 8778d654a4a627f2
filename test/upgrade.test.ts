import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WarpClock } from '../src/warp-clock.ts';
import { Sink } from './helpers/sink.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { ok, programBody, upgradeFleet } from './helpers/upgrade-fleet.ts';

async function programStatus(h: Harness, name: string) {
  return (await ok(h.admin('GET', `/api/admin/v1/programs/${name}/status`))).body;
}

async function finished(h: Harness, name: string, states = ['completed', 'halted'], timeoutMs = 30_000) {
  await eventually(async () => states.includes((await programStatus(h, name)).state), timeoutMs, `program ${name} to end`);
  return programStatus(h, name);
}

describe('an upgrade program in accelerated time', () => {
  let h: Harness;
  let source: Sink;
  let target: Sink;
  let keys: Record<string, string>;
  let clock: WarpClock;

  before(async () => {
    source = await Sink.start();
    // A slow canary keeps the instance paused long enough to inject into its window.
    target = await Sink.start(undefined, { canaryDelayMs: 1500 });
    clock = new WarpClock();
    h = await startHarness({}, { clock });
    keys = await upgradeFleet(h, source.relay, target.relay, [
      {
        customer: 'acme',
        contacts: [
          { email: 'ops@acme.example', locale: 'es', timezone: 'Europe/Madrid' },
          { email: 'it@acme.example', locale: 'en', timezone: 'America/New_York' },
        ],
        instances: [
          { name: 'acme-dev', environment: 'development' },
          { name: 'acme-prod', environment: 'production' },
        ],
      },
    ]);
  });
  after(async () => {
    await h.close();
    await source.close();
    await target.close();
  });

  test('mail injected during the window is held, then leaves through the target only', async () => {
    const before = await h.api(keys['acme-prod'], 'POST', '/api/v1/messages', {
      from: 'a@acme.example',
      to: ['early@example.com'],
      subject: 'before the program',
      text: 'x',
    });
    assert.equal(before.status, 202);
    await source.waitFor(1);

    const statusToken = (await ok(h.admin('POST', '/api/admin/v1/customers/acme/status-token'))).body.token as string;
    await ok(h.admin('POST', '/api/admin/v1/programs', programBody('move', clock.now(), { waveSize: 1, concurrency: 1 })));
    const plan = (await ok(h.admin('GET', '/api/admin/v1/programs/move/plan'))).body;
    assert.deepEqual(
      plan.waves.filter((w: { retry: boolean }) => !w.retry).map((w: { instances: string[] }) => w.instances),
      [['acme-dev'], ['acme-prod']],
    );
    const published = (await ok(h.admin('POST', '/api/admin/v1/programs/move/publish'))).body;
    assert.ok(published.notices >= 4, 'scheduled notices and reminders for both contacts');

    // The runner jumps to the window; the instance pauses while the target is verified.
    await eventually(async () => (await h.admin('GET', '/api/admin/v1/instances/acme-dev')).body.suspended === true, 20_000, 'acme-dev to pause');
    const held = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.api(keys['acme-dev'], 'POST', '/api/v1/messages', {
          from: 'a@acme.example',
          to: [`held${i}@example.com`],
          subject: `held ${i}`,
          text: 'during the window',
        }),
      ),
    );
    assert.ok(
      held.every((r) => r.status === 202),
      'injection keeps working during the window',
    );
    // The customer's own status page says sending is paused and how much is held.
    const paused = (await fetch(`${h.url}/api/status/v1/${statusToken}`).then((r) => r.json())) as {
      customer: string;
      instances: { instance: string; state: string; held: number | null; supportContact: string }[];
    };
    assert.equal(paused.customer, 'acme');
    assert.deepEqual(paused.instances.map((i) => i.instance).sort(), ['acme-dev', 'acme-prod']);
    const pausedDev = paused.instances.find((i) => i.instance === 'acme-dev')!;
    assert.equal(pausedDev.state, 'sending-paused');
    assert.ok(pausedDev.held! >= 20, `held ${pausedDev.held}`);
    assert.equal(pausedDev.supportContact, 'help@mailshift.example');
    assert.equal(paused.instances.find((i) => i.instance === 'acme-prod')!.state, 'scheduled');
    assert.ok(!JSON.stringify(paused).includes('"program"'), 'no operator bookkeeping reaches the customer');

    const status = await finished(h, 'move');
    assert.equal(status.state, 'completed');
    const dev = status.instances.find((i: { name: string }) => i.name === 'acme-dev');
    assert.equal(dev.state, 'completed');
    assert.ok(dev.released >= 20, `released ${dev.released}`);
    assert.ok(dev.pausedMs >= 1500 && dev.pausedMs < 5000, `paused ${dev.pausedMs} ms`);
    const done = (await fetch(`${h.url}/api/status/v1/${statusToken}`).then((r) => r.json())) as { instances: { instance: string; state: string }[] };
    assert.deepEqual(
      done.instances.map((i) => i.state),
      ['completed', 'completed'],
    );
    assert.equal((await fetch(`${h.url}/api/status/v1/not-a-token`)).status, 404);
    assert.match(dev.switchedAt, /^\d{4}-\d\d-\d\dT/);

    await target.waitFor(20 + 2, 15_000);
    const heldAtTarget = target.messages.filter((m) => /^Subject: held /m.test(m.raw));
    assert.equal(heldAtTarget.length, 20);
    assert.equal(source.messages.filter((m) => /^Subject: held /m.test(m.raw)).length, 0, 'nothing held went out through the source');

    const after = await h.api(keys['acme-prod'], 'POST', '/api/v1/messages', {
      from: 'a@acme.example',
      to: ['late@example.com'],
      subject: 'after the program',
      text: 'x',
    });
    assert.equal(after.status, 202);
    await eventually(() => target.messages.some((m) => m.recipients[0] === 'late@example.com'));
    assert.ok(!source.messages.some((m) => m.recipients[0] === 'late@example.com'));

    // Both waves ran in order, non-production first, and each instance switched once.
    const [w1, w2] = status.waves.filter((w: { retry: boolean }) => !w.retry);
    assert.equal(w1.phase, 'non-production');
    assert.equal(w2.phase, 'production');
    assert.ok(Date.parse(w1.actualEnd) <= Date.parse(w2.actualStart));
    assert.equal(status.instances.filter((i: { state: string }) => i.state === 'completed').length, 2);
  });

  test('customers get every notice in their language and time zone, with the support contact', async () => {
    const notices = (await ok(h.admin('GET', '/api/admin/v1/customers/acme/notices'))).body.notices as {
      kind: string;
      to: string;
      state: string;
      subject: string;
      body: string;
    }[];
    await eventually(async () =>
      (await ok(h.admin('GET', '/api/admin/v1/customers/acme/notices'))).body.notices.every((n: { state: string }) => n.state === 'sent'),
    );
    const kinds = new Set(notices.map((n) => `${n.kind}:${n.to}`));
    for (const kind of ['scheduled', 'reminder', 'started', 'completed']) {
      assert.ok(kinds.has(`${kind}:ops@acme.example`), `${kind} in Spanish`);
      assert.ok(kinds.has(`${kind}:it@acme.example`), `${kind} in English`);
    }
    const spanish = notices.find((n) => n.kind === 'scheduled' && n.to === 'ops@acme.example')!;
    assert.match(spanish.body, /Europe\/Madrid/);
    assert.match(spanish.body, /no se\s+puede cambiar/);
    assert.match(spanish.body, /help@mailshift\.example/);
    const english = notices.find((n) => n.kind === 'scheduled' && n.to === 'it@acme.example')!;
    assert.match(english.body, /America\/New_York/);
    assert.match(english.body, /No action or testing is needed/);
    const completed = notices.find((n) => n.kind === 'completed' && n.to === 'it@acme.example' && /acme-dev/.test(n.body))!;
    assert.match(completed.body, /2\d/, 'the number of held messages released');
    // Sent as email through mailshift itself (the `local` capture server).
    const captured = (await ok(h.admin('GET', '/api/admin/v1/capture/messages?limit=100'))).body.messages as { recipients: string[] }[];
    assert.ok(captured.some((m) => m.recipients.includes('ops@acme.example')));
  });

  test('reschedule and opt-out requests are recorded and refused with the reason', async () => {
    await ok(h.admin('POST', '/api/admin/v1/programs', programBody('later', clock.now(), { from: 'green', to: 'blue', waveSize: 5 })));
    await ok(h.admin('POST', '/api/admin/v1/programs/later/publish'));
    const r = await h.api(keys['acme-prod'], 'POST', '/api/v1/upgrade/reschedule-request', { reason: 'Black Friday' });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'reschedule-refused');
    assert.match(r.body.detail, /disrupt other customers' waves/);
    assert.match(r.body.detail, /help@mailshift\.example/);
    const o = await h.admin('POST', '/api/admin/v1/instances/acme-prod/opt-out', { reason: 'we would rather not' });
    assert.equal(o.status, 409);
    assert.equal(o.body.code, 'opt-out-refused');
    assert.match(o.body.detail, /mandatory|not possible/);
    const status = await programStatus(h, 'later');
    assert.deepEqual(
      status.requests.map((q: { kind: string; reason: string }) => `${q.kind}:${q.reason}`),
      ['reschedule:Black Friday', 'opt-out:we would rather not'],
    );
  });
});

describe('switch failures', () => {
  test('a target that refuses the canary once: that switch rolls back, retries later, and the wave goes on', async () => {
    const source = await Sink.start();
    const target = await Sink.start((rcpt, attempt) =>
      rcpt.startsWith('mailshift-verify@') && attempt === 1 ? { code: 550, message: '5.7.1 not today' } : undefined,
    );
    const clock = new WarpClock();
    const h = await startHarness({}, { clock });
    try {
      await upgradeFleet(h, source.relay, target.relay, [
        { customer: 'beta', instances: Array.from({ length: 10 }, (_, i) => ({ name: `beta-${i}`, environment: 'development' as const })) },
      ]);
      await ok(h.admin('POST', '/api/admin/v1/programs', programBody('flaky', clock.now(), { waveSize: 10, concurrency: 1 })));
      await ok(h.admin('POST', '/api/admin/v1/programs/flaky/publish'));
      const status = await finished(h, 'flaky');
      assert.equal(status.state, 'completed');
      assert.ok(status.instances.every((i: { state: string }) => i.state === 'completed'));
      const retried = status.instances.filter((i: { attempts: number }) => i.attempts === 1);
      assert.equal(retried.length, 1);
      const retryWave = status.waves.find((w: { retry: boolean; phase: string }) => w.retry && w.phase === 'non-production');
      assert.equal(retried[0].wave, retryWave.index);
      const notices = (await ok(h.admin('GET', '/api/admin/v1/programs/flaky/notices'))).body.notices as { kind: string; body: string }[];
      const rolledBack = notices.find((n) => n.kind === 'rolled-back' && n.body?.includes(retried[0].name));
      assert.ok(rolledBack, 'a rolled-back notice for the retried instance');
      // The reason comes from the failed step (verify); the relay's reply stays with the operator.
      assert.match(rolledBack.body, /Reason: a test message through the new sending infrastructure was not accepted/);
      assert.doesNotMatch(rolledBack.body, /not today|127\.0\.0\.1/);
    } finally {
      await h.close();
      await source.close();
      await target.close();
    }
  });

  test('a wave halts once failed switches pass the threshold; nothing stays paused', async () => {
    const source = await Sink.start();
    const target = await Sink.start((rcpt) => (rcpt.startsWith('mailshift-verify@') ? { code: 550, message: '5.7.1 never' } : undefined));
    const clock = new WarpClock();
    const h = await startHarness({}, { clock });
    try {
      await upgradeFleet(h, source.relay, target.relay, [
        { customer: 'gamma', instances: Array.from({ length: 10 }, (_, i) => ({ name: `gamma-${i}`, environment: 'staging' as const })) },
      ]);
      await ok(h.admin('POST', '/api/admin/v1/programs', programBody('doomed', clock.now(), { waveSize: 10, concurrency: 1, haltThreshold: 0.1 })));
      await ok(h.admin('POST', '/api/admin/v1/programs/doomed/publish'));
      const status = await finished(h, 'doomed');
      assert.equal(status.state, 'halted');
      assert.match(status.haltedReason, /2 of 10/);
      assert.equal(status.waves[0].state, 'halted');
      const attempted = status.instances.filter((i: { attempts: number }) => i.attempts === 1);
      assert.equal(attempted.length, 2, '10% of 10 is passed at the second failure');
      assert.equal(status.instances.filter((i: { state: string; attempts: number }) => i.state === 'scheduled' && i.attempts === 0).length, 8);
      const instances = (await ok(h.admin('GET', '/api/admin/v1/instances'))).body.instances as { name: string; suspended: boolean; infrastructure: string }[];
      for (const i of instances.filter((x) => x.name.startsWith('gamma-'))) {
        assert.equal(i.suspended, false, `${i.name} is not left paused`);
        assert.equal(i.infrastructure, 'blue', `${i.name} is back on its source`);
      }

      // Resuming a halted program runs the rest of the wave; with the target still refusing,
      // it halts again at the first failure (1 of the 8 left passes 10%).
      const resumed = await ok(h.admin('POST', '/api/admin/v1/programs/doomed/resume'));
      assert.equal(resumed.body.state, 'running');
      const again = await finished(h, 'doomed');
      assert.equal(again.state, 'halted');
      assert.equal(again.instances.filter((i: { attempts: number }) => i.attempts === 1).length, 3);
      assert.equal((await h.admin('POST', '/api/admin/v1/programs/doomed/resume')).status, 200);
      assert.equal((await h.admin('POST', '/api/admin/v1/programs/flaky-none/resume')).status, 404);
    } finally {
      await h.close();
      await source.close();
      await target.close();
    }
  });
});

describe('an instance an operator had suspended', () => {
  test('is switched to the target and stays suspended: the upgrade lifts only its own hold', async () => {
    const source = await Sink.start();
    const target = await Sink.start();
    const clock = new WarpClock();
    const h = await startHarness({}, { clock });
    try {
      const keys = await upgradeFleet(h, source.relay, target.relay, [{ customer: 'eta', instances: [{ name: 'eta-dev', environment: 'development' }] }]);
      await ok(h.admin('POST', '/api/admin/v1/instances/eta-dev/suspend', { reason: 'abuse investigation' }));
      await ok(h.api(keys['eta-dev'], 'POST', '/api/v1/messages', { from: 'a@eta.example', to: ['kept@example.com'], subject: 'held', text: 'x' }));
      await ok(h.admin('POST', '/api/admin/v1/programs', programBody('hold', clock.now())));
      await ok(h.admin('POST', '/api/admin/v1/programs/hold/publish'));
      const status = await finished(h, 'hold');
      assert.equal(status.instances[0].state, 'completed');
      const inst = (await ok(h.admin('GET', '/api/admin/v1/instances/eta-dev'))).body;
      assert.equal(inst.infrastructure, 'green');
      assert.equal(inst.suspended, true);
      assert.equal(inst.suspendedReason, 'abuse investigation');
      assert.equal(source.messages.length + target.messages.filter((m) => !/X-Mailshift-Canary/.test(m.raw)).length, 0, 'the held message stays held');
    } finally {
      await h.close();
      await source.close();
      await target.close();
    }
  });
});
