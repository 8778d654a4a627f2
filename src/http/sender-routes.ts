import type { Services } from '../app/services.ts';
import type { DomainInfo, KeyInfo } from '../app/sender-domains.ts';
import { parseDuration } from '../core/duration.ts';
import { DomainError } from '../core/errors.ts';
import { verificationName, verificationValue } from '../core/sender/sending-domain.ts';
import { iso } from './presenters/timestamp.ts';
import { responses } from './schemas/common.ts';
import {
  CheckQuery,
  DkimImportBody,
  DkimKey,
  DkimKeyBody,
  DkimKeyList,
  DkimListQuery,
  DomainBody,
  DomainCheck,
  DomainList,
  DomainListQuery,
  DomainParams,
  RotateBody,
  SendingDomain,
  Verification,
} from './schemas/senders.ts';
import { absentBodyIsEmpty, requireOperator, type OperatorDoor } from './session-plugin.ts';
import type { HttpApp } from './typed-app.ts';

const prefix = '/api/admin/v1';
const security = [{ adminToken: [] }];
const tags = ['sender authentication'];

/** Sending domains, their verification and checks, and DKIM keys. Admin token or operator session. */
export async function senderRoutes(app: HttpApp, services: OperatorDoor & Pick<Services, 'senderDomains' | 'domainChecks'>): Promise<void> {
  app.addHook('onRequest', requireOperator(services));
  app.addHook('preValidation', absentBodyIsEmpty);
  const { senderDomains: senders, domainChecks: checks } = services;

  app.get(
    `${prefix}/domains`,
    { schema: { tags, security, summary: 'Sending domains (of one customer)', querystring: DomainListQuery, response: responses({ 200: DomainList }) } },
    async (request) => ({ domains: (await senders.listDomains(request.query.customer)).map(domainView) }),
  );

  app.post(
    `${prefix}/domains`,
    { schema: { tags, security, summary: 'Add a sending domain to a customer', body: DomainBody, response: responses({ 201: SendingDomain }) } },
    async (request, reply) => reply.code(201).send(domainView(await senders.addDomain(request.body))),
  );

  app.get(
    `${prefix}/domains/:domain`,
    { schema: { tags, security, summary: 'One sending domain', params: DomainParams, response: responses({ 200: SendingDomain }) } },
    async (request) => domainView(await senders.findDomain(request.params.domain)),
  );

  app.post(
    `${prefix}/domains/:domain/verify`,
    {
      schema: { tags, security, summary: 'Verify a domain by its DNS TXT token', params: DomainParams, response: responses({ 200: Verification }) },
    },
    async (request) => senders.verify(request.params.domain),
  );

  app.get(
    `${prefix}/domains/:domain/check`,
    {
      schema: {
        tags,
        security,
        summary: 'SPF, DKIM and DMARC of a domain over DNS',
        params: DomainParams,
        querystring: CheckQuery,
        response: responses({ 200: DomainCheck }),
      },
    },
    async (request) => checks.check(request.params.domain, request.query.infrastructure),
  );

  app.get(
    `${prefix}/dkim`,
    { schema: { tags, security, summary: 'DKIM keys and the DNS records they need', querystring: DkimListQuery, response: responses({ 200: DkimKeyList }) } },
    async (request) => ({ keys: (await senders.listKeys(request.query.domain)).map(keyView) }),
  );

  app.post(
    `${prefix}/dkim`,
    { schema: { tags, security, summary: 'Make a DKIM key for a customer\u2019s domain', body: DkimKeyBody, response: responses({ 201: DkimKey }) } },
    async (request, reply) => reply.code(201).send(keyView(await senders.addKey(request.body))),
  );

  app.post(
    `${prefix}/dkim/import`,
    { schema: { tags, security, summary: 'Import an existing DKIM private key', body: DkimImportBody, response: responses({ 201: DkimKey }) } },
    async (request, reply) => reply.code(201).send(keyView(await senders.importKey(request.body))),
  );

  app.post(
    `${prefix}/domains/:domain/dkim/rotate`,
    {
      schema: {
        tags,
        security,
        summary: 'New keys sign; the old ones stay valid for the grace period',
        params: DomainParams,
        body: RotateBody,
        response: responses({ 200: DkimKeyList }),
      },
    },
    async (request) => {
      const grace = request.body.grace;
      const graceMs = grace === undefined ? undefined : parseDuration(grace);
      if (graceMs === null) throw new DomainError('invalid-request', `grace must be a duration such as 7d or 12h, got "${grace}"`);
      return { keys: (await senders.rotate(request.params.domain, { algorithm: request.body.algorithm, graceMs })).map(keyView) };
    },
  );
}

function domainView({ domain, customer }: DomainInfo): SendingDomain {
  return {
    domain: domain.domain,
    customer,
    verified: domain.verified,
    verifiedAt: domain.verifiedAt === null ? null : iso(domain.verifiedAt),
    verifyName: verificationName(domain.domain),
    verifyValue: verificationValue(domain.verifyToken),
    createdAt: iso(domain.createdAt),
  };
}

function keyView(key: KeyInfo): DkimKey {
  return { ...key, createdAt: iso(key.createdAt), retireAt: key.retireAt === null ? null : iso(key.retireAt) };
}
