import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { DomainError, errorCodes, type ErrorCode } from '../core/errors.ts';
import { internalProblem, problemStatus } from './problem-codes.ts';

/** RFC 9457 problem details, one shape for every error the HTTP API returns. */
export function sendProblem(reply: FastifyReply, code: ErrorCode | 'internal', detail: string): FastifyReply {
  const entry = code === 'internal' ? internalProblem : { status: problemStatus[code], title: errorCodes[code].title };
  return reply
    .code(entry.status)
    .type('application/problem+json')
    .send({ type: `urn:mailshift:problem:${code}`, title: entry.title, status: entry.status, detail, code });
}

export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof DomainError) {
      // Memory will come free in a moment: say when to come back.
      if (err.code === 'server-busy') reply.header('retry-after', '2');
      return sendProblem(reply, err.code, err.detail);
    }
    if (err.validation) return sendProblem(reply, 'invalid-request', err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendProblem(reply, 'message-too-large', `the request body is larger than this route's limit of ${request.routeOptions.bodyLimit} bytes`);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return sendProblem(reply, 'invalid-request', err.message);
    request.log.error({ err }, 'request failed');
    return sendProblem(reply, 'internal', 'the request could not be completed; nothing was accepted');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'not-found', `no route ${request.method} ${request.url}`));
}

export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}
