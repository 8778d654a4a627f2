import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { testDatabases } from '../../test/helpers/databases.ts';
import { message, t0, useFixture, type Fixture } from '../../test/store/fixtures.ts';
import { hashStatusToken } from './status-token.ts';
import { UpgradeStatusService, type InstanceUpgradeStatus } from './upgrade-status.ts';

/** Stands in for the programs: every instance not scheduled, with what is held for it. */
const upgrades = {
  async instanceStatus(instance: Instance, held: () => Promise<number>): Promise<InstanceUpgradeStatus> {
    return { instance: instance.name, environment: instance.environment, state: 'sending-paused', supportContact: null, held: await held() };
  },
};

function service(f: Fixture) {
  return new UpgradeStatusService({ tokens: f.statusTokens, fleet: f.fleet, upgrades, held: f.suspensions });
}

for (const kind of testDatabases()) {
  describe(`UpgradeStatusService (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = useFixture(kind);

    test('a token opens its customer\u2019s page: that customer\u2019s instances, not its system ones, not others\u2019', async () => {
      const f = fixture();
      const [acme] = await f.fleet.listCustomers();
      const globex = await f.fleet.createCustomer('Globex', [], t0);
      const base = { infrastructureId: f.blue.id, allowFrom: [], createdAt: t0, productLine: 'managed-cloud' as const, environment: 'production' as const };
      await f.fleet.createInstance({ ...base, name: 'globex-prod', customerId: globex.id });
      await f.fleet.createInstance({ ...base, name: 'acme-notices', customerId: acme.id, system: true });
      await f.statusTokens.setStatusToken(acme.id, hashStatusToken('acme-token'), t0);
      const page = await service(f).ofToken('acme-token');
      assert.equal(page.customer.name, 'Acme');
      assert.deepEqual(page.instances.map((i) => i.instance).sort(), ['acme-dev', 'acme-prod']);
    });

    test('an unknown or replaced token is not-found', async () => {
      const f = fixture();
      const [acme] = await f.fleet.listCustomers();
      const tokens = f.statusTokens;
      await tokens.setStatusToken(acme.id, hashStatusToken('old'), t0);
      await tokens.setStatusToken(acme.id, hashStatusToken('new'), t0 + 1);
      const notFound = (err: unknown) => err instanceof DomainError && err.code === 'not-found';
      await assert.rejects(service(f).ofToken('old'), notFound);
      await assert.rejects(service(f).ofToken('never'), notFound);
      assert.equal((await service(f).ofToken('new')).instances.length, 2);
    });

    test('an instance\u2019s own status counts the mail held for it', async () => {
      const f = fixture();
      await f.spool.commit(
        [message('m-1', f.instance.id, ['a@example.test', 'b@example.test']), message('m-2', f.other.id, ['c@example.test'])],
        t0,
        t0 + 1000,
      );
      const status = await service(f).ofInstance(f.instance);
      assert.equal(status.instance, 'acme-prod');
      assert.equal(status.held, 2);
    });
  });
}
