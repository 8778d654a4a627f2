import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Infrastructure, Instance } from '../../src/core/fleet/fleet.ts';
import { testDatabases } from '../helpers/databases.ts';
import { assertFields, infrastructureInput, t0, useFixture } from './fixtures.ts';

const contacts = [
  { email: 'ops@globex.test', locale: 'en-GB', timezone: 'Europe/London' },
  { email: 'it@globex.test', locale: 'de-DE', timezone: 'Europe/Berlin' },
];

const rich: Omit<Infrastructure, 'id'> = {
  name: 'eu-west',
  deliveryMode: 'relay',
  relays: [
    { host: 'relay-1.eu.test', port: 25 },
    { host: 'relay-2.eu.test', port: 587 },
    { host: 'relay-3.eu.test', port: 465, secure: true, login: { user: 'eu-west', sealedPassword: 'v1.aaa.bbb.ccc' } },
  ],
  sourceAddresses: ['192.0.2.10', '2001:db8::10'],
  heloName: 'mta.eu.test',
  dkim: [{ domain: 'acme.test', selector: 's1', privateKey: '-----BEGIN PRIVATE KEY-----\nMIIB…\n"quoted" é\n-----END PRIVATE KEY-----\n' }],
  shaping: [
    { domain: '*', maxConnections: 10, maxMessagesPerConnection: 100, rate: null },
    { domain: 'gmail.com', maxConnections: 3, maxMessagesPerConnection: 50, rate: '100/s' },
  ],
  verificationAddress: 'canary@eu.test',
  createdAt: t0 + 1,
  mxPort: 2525,
  tls: 'verify',
  mtaSts: true,
  unverifiedFrom: 'refuse',
  spfInclude: '_spf.eu.test',
};

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('customers: create, find with contacts in order, list by name', async () => {
      const { fleet } = f();
      const globex = await fleet.createCustomer('Globex', contacts, t0 + 5);
      assert.deepEqual(globex.contacts, contacts);
      await fleet.createCustomer('Initech', [{ email: 'bill@initech.test', locale: 'en-US', timezone: 'America/Chicago' }], t0);

      assertFields(await fleet.findCustomer('Globex'), { id: globex.id, name: 'Globex', contacts, createdAt: t0 + 5 });
      assert.equal(await fleet.findCustomer('globex'), undefined);
      assert.equal(await fleet.findCustomer('Nobody'), undefined);

      const all = await fleet.listCustomers();
      assert.deepEqual(
        all.map((c) => c.name),
        ['Acme', 'Globex', 'Initech'],
      );
      assert.deepEqual(all[0]!.contacts, []);
      assert.deepEqual(all[1]!.contacts, contacts);
      assert.deepEqual(
        all[2]!.contacts.map((c) => c.email),
        ['bill@initech.test'],
      );
    });

    test('customers: a duplicate name is rejected and leaves the first intact', async () => {
      const { fleet } = f();
      await fleet.createCustomer('Globex', contacts, t0);
      await assert.rejects(fleet.createCustomer('Globex', [{ email: 'x@globex.test', locale: 'en', timezone: 'UTC' }], t0));
      assert.deepEqual((await fleet.findCustomer('Globex'))?.contacts, contacts);
      assert.equal((await fleet.listCustomers()).filter((c) => c.name === 'Globex').length, 1);
    });

    test('infrastructures: JSON fields round-trip, found by name and id, listed by name', async () => {
      const { fleet, blue, green } = f();
      const created = await fleet.createInfrastructure(rich);
      assertFields(created, { ...rich, id: created.id });
      assertFields(await fleet.findInfrastructure({ name: 'eu-west' }), { ...rich, id: created.id });
      assertFields(await fleet.findInfrastructure({ id: created.id }), { ...rich, id: created.id });
      assert.equal(await fleet.findInfrastructure({ name: 'nowhere' }), undefined);
      assert.equal(await fleet.findInfrastructure({ id: 999_999 }), undefined);

      const mx = await fleet.createInfrastructure({ ...infrastructureInput('direct'), deliveryMode: 'mx', relays: [] });
      assert.equal((await fleet.findInfrastructure({ id: mx.id }))?.deliveryMode, 'mx');

      assert.deepEqual(
        (await fleet.listInfrastructures()).map((i) => i.id),
        [blue.id, mx.id, created.id, green.id],
      );
    });

    test('infrastructures: updateRelays replaces the relays only', async () => {
      const { fleet } = f();
      const created = await fleet.createInfrastructure(rich);
      await fleet.updateRelays(created.id, [{ host: 'relay-3.eu.test', port: 2525 }]);
      assertFields(await fleet.findInfrastructure({ id: created.id }), { ...rich, id: created.id, relays: [{ host: 'relay-3.eu.test', port: 2525 }] });
    });

    test('infrastructures: a duplicate name is rejected', async () => {
      const { fleet } = f();
      await assert.rejects(fleet.createInfrastructure(infrastructureInput('blue')));
      assert.equal((await fleet.listInfrastructures()).length, 2);
    });

    test('instances: create, find by name and id, list by name, rebind', async () => {
      const { fleet, blue, green, instance, other } = f();
      const customer = await fleet.createCustomer('Globex', [], t0);
      const created = await fleet.createInstance({
        name: 'globex-stage',
        customerId: customer.id,
        productLine: 'classic-managed',
        environment: 'staging',
        infrastructureId: green.id,
        allowFrom: ['10.0.0.0/8', '2001:db8::/32'],
        createdAt: t0 + 7,
      });
      const expected: Partial<Instance> = {
        id: created.id,
        name: 'globex-stage',
        customerId: customer.id,
        productLine: 'classic-managed',
        environment: 'staging',
        infrastructureId: green.id,
        suspended: false,
        suspendedAt: null,
        suspendedReason: null,
        allowFrom: ['10.0.0.0/8', '2001:db8::/32'],
        createdAt: t0 + 7,
      };
      assertFields(created, expected);
      assertFields(await fleet.findInstance({ name: 'globex-stage' }), expected);
      assertFields(await fleet.findInstance({ id: created.id }), expected);
      assert.equal(await fleet.findInstance({ name: 'nobody' }), undefined);
      assert.equal(await fleet.findInstance({ id: 999_999 }), undefined);
      assert.deepEqual(
        (await fleet.listInstances()).map((i) => i.id),
        [other.id, instance.id, created.id],
      );

      await fleet.rebindInstance(instance.id, green.id);
      assert.equal((await fleet.findInstance({ id: instance.id }))?.infrastructureId, green.id);
      assert.equal((await fleet.findInstance({ id: other.id }))?.infrastructureId, blue.id);
    });

    test('instances: a duplicate name is rejected', async () => {
      const { fleet, instance } = f();
      const { name, customerId, productLine, environment, infrastructureId, allowFrom, createdAt } = instance;
      await assert.rejects(fleet.createInstance({ name, customerId, productLine, environment, infrastructureId, allowFrom, createdAt }));
      assert.equal((await fleet.listInstances()).length, 2);
    });

    test('credentials: looked up by kind and lookup; a duplicate lookup is rejected', async () => {
      const { fleet, instance, other } = f();
      await fleet.addCredential(instance.id, 'smtp', 'acme-prod', 'hash-smtp', t0);
      await fleet.addCredential(other.id, 'api', 'key_123', 'hash-api', t0);

      assert.deepEqual(await fleet.findCredential('smtp', 'acme-prod'), { instanceId: instance.id, secretHash: 'hash-smtp' });
      assert.deepEqual(await fleet.findCredential('api', 'key_123'), { instanceId: other.id, secretHash: 'hash-api' });
      assert.equal(await fleet.findCredential('api', 'acme-prod'), undefined);
      assert.equal(await fleet.findCredential('smtp', 'unknown'), undefined);

      await assert.rejects(fleet.addCredential(other.id, 'smtp', 'acme-prod', 'hash-other', t0));
      assert.deepEqual(await fleet.findCredential('smtp', 'acme-prod'), { instanceId: instance.id, secretHash: 'hash-smtp' });
    });
  });
}
