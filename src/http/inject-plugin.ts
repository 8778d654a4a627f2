import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import addressparser from 'nodemailer/lib/addressparser';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { checkMessage, headerValue } from '../core/spool/message-check.ts';
import { composeBatch, maxBatchRecipients, type BatchRequest } from '../app/batch.ts';
import { composeMessage, type JsonMessage } from '../app/compose.ts';
import type { Services } from '../app/services.ts';
import { maxRecipientsPerMessage, type Accepted, type IdempotencyClaim, type Submission } from '../app/accept-service.ts';
import { bearer, sendProblem } from './problem.ts';
import { messageView } from './views.ts';
import { suppressionRoutes, webhookRoutes } from './instance-routes.ts';
import { isUniqueViolation } from '../store/spool-repository.ts';
import { parseApiKey } from '../app/credentials.ts';
import { guardedCheck } from './auth-door.ts';
import { bodyReservation } from './body-reservation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    instance?: Instance;
  }
}

const messageSchema = {
  type: 'object',
  properties: {
    from: { type: 'string' },
    // Capped here, before anything is composed: a 1,500,000-address list used to be
    // composed first (a minute of CPU) and refused after.
    to: { type: 'array', maxItems: maxRecipientsPerMessage, items: { type: 'string' } },
    cc: { type: 'array', maxItems: maxRecipientsPerMessage, items: { type: 'string' } },
    bcc: { type: 'array', maxItems: maxRecipientsPerMessage, items: { type: 'string' } },
    replyTo: { type: 'string' },
    subject: { type: 'string' },
    text: { type: 'string' },
    html: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    attachments: {
      type: 'array',
      maxItems: 100,
      items: { type: 'object', required: ['filename', 'content'], properties: { filename: { type: 'string' }, content: { type: 'string' }, contentType: { type: 'string' } } },
    },
    raw: { type: 'string' },
    mailFrom: { type: 'string' },
    recipients: { type: 'array', maxItems: maxRecipientsPerMessage, items: { type: 'string' } },
  },
  additionalProperties: false,
} as const;

const batchSchema = {
  type: 'object',
  required: ['from', 'subject', 'recipients'],
  properties: {
    from: { type: 'string' },
    subject: { type: 'string' },
    text: { type: 'string' },
    html: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    recipients: {
      type: 'array',
      minItems: 1,
      maxItems: maxBatchRecipients,
      items: { type: 'object', required: ['to'], properties: { to: { type: 'string' }, substitutions: { type: 'object' } }, additionalProperties: false },
    },
  },
  additionalProperties: false,
} as const;

/** Routes whose bodies carry whole messages: their bytes are reserved from the in-flight budget before they are read. */
const messageRoutes = new Set(['/api/v1/messages', '/api/v1/messages/batch']);
const maxBatchesPerInstance = 2;
/** How long a batch waits for memory for each composed message before it is refused. */
const batchReserveWaitMs = 2_000;

/** The instance-facing API: authenticated by the instance's API key. */
export async function injectPlugin(app: FastifyInstance, services: Services): Promise<void> {
  const inProgress = new Set<string>();

  app.addHook('onRequest', async (request, reply) => {
    const key = bearer(request.headers.authorization);
    if (!key) return sendProblem(reply, 'auth-required', 'send an instance API key as "Authorization: Bearer <key>"');
    // The account is the key's lookup part: guesses at one key lock it, whatever the source.
    const account = parseApiKey(key)?.lookup ?? null;
    const instance = await guardedCheck(services.authGuard, 'api', request, reply, account, () => services.fleet.authenticateApiKey(key), 'send an instance API key as "Authorization: Bearer <key>"');
    if (!instance) return reply;
    request.instance = instance;
  });
  // After authentication, so a stranger cannot spend the budget.
  app.addHook('onRequest', bodyReservation(services, messageRoutes));

  /** Runs `work` once per Idempotency-Key: a retry gets the first answer and sends nothing. */
  async function idempotent(request: FastifyRequest, work: (key?: IdempotencyClaim) => Promise<unknown>): Promise<{ body: unknown; replayed: boolean }> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return { body: await work(), replayed: false };
    if (key.length > 255) throw new DomainError('invalid-request', 'Idempotency-Key is longer than 255 characters');
    const instance = request.instance!;
    const requestHash = createHash('sha256').update(JSON.stringify(request.body)).digest('hex');
    const replay = async () => {
      const seen = await services.acceptor.findIdempotent(instance.id, key);
      if (!seen) return undefined;
      if (seen.requestHash !== requestHash) throw new DomainError('idempotency-mismatch', `Idempotency-Key ${JSON.stringify(key)} was used for a different request`);
      return { body: JSON.parse(seen.response) as unknown, replayed: true };
    };
    const earlier = await replay();
    if (earlier) return earlier;
    const slot = `${instance.id}\u0000${key}`;
    if (inProgress.has(slot)) throw new DomainError('conflict', `a request with Idempotency-Key ${JSON.stringify(key)} is still in progress`);
    inProgress.add(slot);
    try {
      return { body: await work({ key, requestHash }), replayed: false };
    } catch (err) {
      // Another process committed the same key first: its answer stands, nothing is sent twice.
      const winner = isUniqueViolation(err) ? await replay() : undefined;
      if (winner) return winner;
      throw err;
    } finally {
      inProgress.delete(slot);
    }
  }

  app.post('/api/v1/messages', { schema: { body: messageSchema }, bodyLimit: Math.ceil(services.config.maxMessageBytes * 1.4) + 65536 }, async (request, reply) => {
    const instance = request.instance!;
    const body = request.body as JsonMessage & { raw?: string; mailFrom?: string; recipients?: string[] };
    const result = await idempotent(request, async (idem) => {
      const submission = body.raw !== undefined ? rawSubmission(instance, body) : await jsonSubmission(instance, body);
      return messageResponse(await services.acceptor.accept(submission, 'http', idem, messageResponse));
    });
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send(result.body);
  });

  // Batches of one instance in progress: rendering and composing are the costly part of a
  // batch, so one tenant cannot run any number of them at once.
  const batchesInProgress = new Map<number, number>();
  app.post('/api/v1/messages/batch', { schema: { body: batchSchema }, bodyLimit: 64 * 1024 * 1024 }, async (request, reply) => {
    const instance = request.instance!;
    const running = batchesInProgress.get(instance.id) ?? 0;
    if (running >= maxBatchesPerInstance) {
      throw new DomainError('limit-reached', `an instance may have ${maxBatchesPerInstance} batches in progress at once; send this one when one of them is answered`);
    }
    batchesInProgress.set(instance.id, running + 1);
    let reserved = 0;
    try {
      const result = await idempotent(request, async (idem) => {
        // Rendered and composed one recipient at a time, within the batch's byte cap; what is
        // composed is held in memory until the commit, so it draws on the shared budget
        // (twice: the spool's copy with the added header fields is made before the commit).
        const composed = await composeBatch(request.body as BatchRequest, {
          limits: { maxRenderedBytes: services.config.batchMaxRenderedBytes, maxMessageBytes: services.config.maxMessageBytes },
          abandoned: () => request.raw.socket?.destroyed === true,
          reserve: async (bytes) => {
            const granted = await services.inflight.reserve(bytes * 2, batchReserveWaitMs);
            if (granted) reserved += bytes * 2;
            return granted;
          },
        });
        const submissions: Submission[] = composed.map((c) => ({ instance, ...c }));
        return batchResponse(await services.acceptor.acceptAll(submissions, 'http', idem, batchResponse));
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(result.body);
    } finally {
      services.inflight.release(reserved);
      const left = (batchesInProgress.get(instance.id) ?? 1) - 1;
      if (left > 0) batchesInProgress.set(instance.id, left);
      else batchesInProgress.delete(instance.id);
    }
  });

  app.get('/api/v1/messages/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const view = await messageView(services, id);
    // Another instance's message does not exist as far as this key can tell.
    if (!view || view.message.instanceId !== request.instance!.id) return sendProblem(reply, 'not-found', `no message ${id}`);
    return view;
  });

  app.get('/api/v1/upgrade/status', async (request) => services.programService.instanceStatus(request.instance!, () => services.suspensions.heldCount(request.instance!.id)));

  // A customer may ask; the answer is recorded and is always a refusal with the reason.
  app.post('/api/v1/upgrade/reschedule-request', async (request) => {
    const reason = ((request.body ?? {}) as { reason?: unknown }).reason;
    return services.programService.request(request.instance!, 'reschedule', typeof reason === 'string' ? reason : '');
  });
  app.post('/api/v1/upgrade/opt-out', async (request) => {
    const reason = ((request.body ?? {}) as { reason?: unknown }).reason;
    return services.programService.request(request.instance!, 'opt-out', typeof reason === 'string' ? reason : '');
  });

  await suppressionRoutes(app, services, '/api/v1/suppressions', async (request) => request.instance!);
  await webhookRoutes(app, services, '/api/v1/webhooks', async (request) => request.instance!);
}

function messageResponse(a: Accepted) {
  return { id: a.messageId, recipients: a.recipients, suppressed: a.suppressed };
}

function batchResponse(accepted: Accepted[]) {
  return {
    accepted: accepted.length,
    messages: accepted.map((a) => ({ id: a.messageId })),
    suppressed: accepted.flatMap((a) => a.suppressed),
  };
}

async function jsonSubmission(instance: Instance, body: JsonMessage): Promise<Submission> {
  if (typeof body.from !== 'string') throw new DomainError('invalid-request', 'from is required');
  const composed = await composeMessage(body);
  return { instance, mailFrom: composed.mailFrom, recipients: composed.recipients, raw: composed.raw };
}

/** Raw MIME: the envelope comes from the fields given, else from the message's own headers. */
function rawSubmission(instance: Instance, body: { raw?: string; mailFrom?: string; recipients?: string[] }): Submission {
  const raw = Buffer.from(body.raw!, 'utf8');
  const checked = checkMessage(raw);
  if (!checked.ok) throw new DomainError(checked.error.code, checked.error.detail);
  const addresses = (name: string) => (addressparser(headerValue(checked.value.headers, name) ?? '', { flatten: true }) as { address: string }[]).map((a) => a.address).filter(Boolean);
  const recipients = body.recipients ?? [...addresses('to'), ...addresses('cc')];
  const mailFrom = body.mailFrom ?? addresses('from')[0] ?? '';
  return { instance, mailFrom, recipients, raw };
}
