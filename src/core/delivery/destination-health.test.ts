import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationHealth, HopHealth, routeDownUntil, type HealthPolicy } from './destination-health.ts';

const policy: HealthPolicy = { threshold: 3, downMs: 30_000, maxDownMs: 100_000, initialConcurrency: 5 };
const t0 = 1_700_000_000_000;

/** Starts `n` attempts at `now` as far as the hop lets them; returns how many started. */
function begin(h: HopHealth, n: number, now: number): number {
  let started = 0;
  for (let i = 0; i < n && h.mayOpen(now); i++, started++) h.begin(now);
  return started;
}

describe('DestinationHealth (a domain whose DNS fails)', () => {
  it('is marked down after `threshold` failures in a row, for longer after each failed probe', () => {
    const h = new DestinationHealth(policy);
    assert.equal(h.failure(t0), false);
    assert.equal(h.failure(t0), false);
    assert.equal(h.failure(t0), true);
    assert.equal(h.downUntil, t0 + 30_000);
    assert.ok(h.isDown(t0 + 29_999) && !h.isDown(t0 + 30_000));
    assert.ok(h.probing(t0 + 30_000));
    assert.equal(h.failure(t0 + 30_000), true, 'a failed probe marks it down again at once');
    assert.equal(h.downUntil, t0 + 90_000);
    h.failure(t0 + 90_000);
    assert.equal(h.downUntil, t0 + 190_000, 'capped at maxDownMs');
    h.success();
    assert.ok(h.healthy && !h.isDown(t0 + 190_000));
  });
});

describe('HopHealth (a relay host:port, an MX address)', () => {
  it('until a hop answers, only `initialConcurrency` attempts are in progress at once', () => {
    const h = new HopHealth(policy);
    assert.equal(begin(h, 50, t0), 5, 'a silent server sees a few connections, not one per session');
    assert.equal(h.inFlight, 5);
    h.abandoned();
    assert.equal(begin(h, 50, t0), 1, 'an attempt reserved and not made frees its place');
  });

  it('once it answers, attempts are not bounded by the hop (the queues bound them)', () => {
    const h = new HopHealth(policy);
    h.begin(t0);
    assert.equal(h.settled(true, t0), false);
    assert.equal(begin(h, 50, t0), 50);
    assert.equal(h.openLimit(t0), Infinity);
  });

  it('one dead hop is marked down once, after `threshold` failed attempts, whoever made them', () => {
    // Three queues (three recipient domains routed through one relay) each make one attempt.
    const relay = new HopHealth(policy);
    assert.equal(begin(relay, 3, t0), 3);
    assert.equal(relay.settled(false, t0 + 4_000), false);
    assert.equal(relay.settled(false, t0 + 4_000), false);
    assert.equal(relay.settled(false, t0 + 4_000), true);
    assert.equal(relay.downUntil, t0 + 34_000);
    assert.equal(relay.openLimit(t0 + 5_000), 0, 'no attempt while down');
    assert.equal(relay.mayOpen(t0 + 33_999), false);
  });

  it('after the down period one probe at a time; a failed probe doubles the wait, an answer clears everything', () => {
    const h = new HopHealth(policy);
    for (let i = 0; i < 3; i++) {
      h.begin(t0);
      h.settled(false, t0);
    }
    const probe = t0 + 30_000;
    assert.equal(begin(h, 10, probe), 1, 'one probe');
    assert.equal(h.settled(false, probe + 4_000), true);
    assert.equal(h.downUntil, probe + 4_000 + 60_000);
    const second = probe + 64_000;
    assert.equal(begin(h, 10, second), 1);
    assert.equal(h.settled(true, second + 10), false);
    assert.ok(h.healthy);
    assert.equal(h.openLimit(second + 10), Infinity);
  });

  it('a hop that answered and then fails goes back to a few attempts at once, one fewer per failure in a row', () => {
    const h = new HopHealth(policy);
    h.begin(t0);
    h.settled(true, t0);
    h.begin(t0);
    assert.equal(h.settled(false, t0 + 1), false);
    assert.equal(h.openLimit(t0 + 1), 4);
    h.begin(t0 + 1);
    h.settled(false, t0 + 2);
    assert.equal(h.openLimit(t0 + 2), 3);
    h.begin(t0 + 2);
    h.settled(true, t0 + 3);
    assert.equal(h.openLimit(t0 + 3), Infinity, 'an answer ends the slow start');
  });

  it('a silent hop sees `initialConcurrency` attempts in all before it is marked down: those failures free are not made again', () => {
    const h = new HopHealth(policy);
    let made = begin(h, 50, t0);
    while (!h.isDown(t0 + 4_000)) {
      h.settled(false, t0 + 4_000);
      made += begin(h, 50, t0 + 4_000);
    }
    assert.equal(made, 5);
  });

  it('failures while down change nothing, and attempts still settle', () => {
    const h = new HopHealth(policy);
    assert.equal(begin(h, 5, t0), 5);
    for (let i = 0; i < 3; i++) h.settled(false, t0 + 4_000);
    const until = h.downUntil;
    assert.equal(h.settled(false, t0 + 4_001), true);
    assert.equal(h.settled(false, t0 + 4_001), true);
    assert.equal(h.downUntil, until);
    assert.equal(h.inFlight, 0);
  });

  it('is forgettable only when healthy, idle and unused for a while', () => {
    const h = new HopHealth(policy);
    h.begin(t0);
    assert.equal(h.forgettable(t0 + 1), false, 'an attempt in progress');
    h.settled(true, t0 + 5);
    assert.equal(h.forgettable(t0), false, 'used since');
    assert.equal(h.forgettable(t0 + 1), true);
    h.begin(t0 + 10);
    h.settled(false, t0 + 10);
    assert.equal(h.forgettable(t0 + 100), false, 'a failure to remember');
  });
});

describe('routeDownUntil', () => {
  const down = (until: number) => {
    const h = new HopHealth({ ...policy, threshold: 1 });
    h.begin(until - 30_000);
    h.settled(false, until - 30_000);
    return h;
  };
  it('is 0 while one hop is up or unknown, else the earliest time one comes back', () => {
    const a = down(t0 + 10_000);
    const b = down(t0 + 20_000);
    assert.equal(routeDownUntil([a, b], t0), t0 + 10_000);
    assert.equal(routeDownUntil([a, new HopHealth(policy)], t0), 0, 'a relay infrastructure keeps using its live relay');
    assert.equal(routeDownUntil([a, undefined], t0), 0);
    assert.equal(routeDownUntil([a, b], t0 + 10_000), 0, 'one of them is due a probe');
    assert.equal(routeDownUntil([], t0), 0);
  });
});
