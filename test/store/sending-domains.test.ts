import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isUniqueViolation } from '../../src/store/unique-violation.ts';
import { testDatabases } from '../helpers/databases.ts';
import { day, t0, useFixture } from './fixtures.ts';

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    test('sending domains: one owner each, verified once, listed per customer', async () => {
      const { sendingDomains: repo, fleet, instance } = f();
      const other = await fleet.createCustomer('Globex', [], t0);
      const shop = await repo.addDomain({
        customerId: instance.customerId,
        domain: 'shop.test',
        verified: false,
        verifyToken: 'tok',
        verifiedAt: null,
        createdAt: t0,
      });
      await repo.addDomain({ customerId: other.id, domain: 'globex.test', verified: true, verifyToken: 't2', verifiedAt: t0, createdAt: t0 });
      await assert.rejects(
        repo.addDomain({ customerId: other.id, domain: 'shop.test', verified: false, verifyToken: 't3', verifiedAt: null, createdAt: t0 }),
        isUniqueViolation,
      );
      await repo.markVerified(shop.id, t0 + day);
      assert.deepEqual(await repo.findDomain('shop.test'), { ...shop, verified: true, verifiedAt: t0 + day });
      assert.deepEqual(
        (await repo.listDomains(instance.customerId)).map((d) => d.domain),
        ['shop.test'],
      );
      assert.deepEqual(
        (await repo.listDomains()).map((d) => d.domain),
        ['globex.test', 'shop.test'],
      );
    });

    test('keys: a rotation adds the new keys and retires the old ones at once', async () => {
      const { sendingDomains: repo, instance } = f();
      const d = await repo.addDomain({ customerId: instance.customerId, domain: 'shop.test', verified: true, verifyToken: 'x', verifiedAt: t0, createdAt: t0 });
      const base = { domainId: d.id, publicKey: 'cHVi', sealedPrivateKey: 'v1.a.b.c', createdAt: t0 };
      const old = await repo.addKey({ ...base, selector: 's1', algorithm: 'rsa' });
      const ed = await repo.addKey({ ...base, selector: 'e1', algorithm: 'ed25519' });
      await assert.rejects(repo.addKey({ ...base, selector: 's1', algorithm: 'rsa' }), isUniqueViolation);
      const [fresh] = await repo.rotate([{ ...base, selector: 's2', algorithm: 'rsa', createdAt: t0 + day }], [old.id], t0 + 8 * day);
      const keys = await repo.listKeys([d.id]);
      assert.deepEqual(
        keys.map((k) => [k.selector, k.algorithm, k.retireAt]),
        [
          ['s1', 'rsa', t0 + 8 * day],
          ['e1', 'ed25519', null],
          ['s2', 'rsa', null],
        ],
      );
      assert.equal(keys[2].id, fresh.id);
      assert.equal(keys[1].sealedPrivateKey, ed.sealedPrivateKey);
      assert.deepEqual(await repo.listKeys([]), []);
    });

    test('an infrastructure keeps its policy for unverified From and its SPF include', async () => {
      const { fleet, blue } = f();
      assert.equal(blue.unverifiedFrom, 'unsigned');
      const found = await fleet.findInfrastructure({ id: blue.id });
      assert.equal(found?.unverifiedFrom, 'unsigned');
      assert.equal(found?.spfInclude, null);
    });
  });
}
