import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app/services.ts';
import { sendProblem } from './problem.ts';

/** How long a request waits for memory before it is told to come back. */
const waitMs = 2_000;
const retryAfterSeconds = 2;

/**
 * An onRequest hook for routes that carry whole messages: before the body is read, its
 * bytes are reserved from the shared in-flight budget (what SMTP DATA draws on too), and
 * given back once the response is sent or the connection is gone. With the budget spent,
 * the request waits briefly, then is answered 503 `server-busy` with Retry-After, its body
 * unread — so memory follows the budget, not the number of clients.
 */
export function bodyReservation(services: Pick<Services, 'inflight' | 'metrics'>, routes: ReadonlySet<string>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!routes.has(request.routeOptions.url ?? '')) return;
    const limit = request.routeOptions.bodyLimit ?? Infinity;
    const length = Number(request.headers['content-length']);
    // Without a length (chunked), the worst the route allows; over the limit, the parser answers 413 unread.
    const bytes = Number.isFinite(length) && length >= 0 ? length : limit;
    if (bytes > limit || bytes === 0 || !Number.isFinite(bytes)) return;
    // Listen before waiting: a client that goes away meanwhile must not leave bytes reserved.
    let state = 'waiting' as 'waiting' | 'held' | 'done';
    const finished = () => {
      if (state === 'held') services.inflight.release(bytes);
      state = 'done';
    };
    reply.raw.once('close', finished);
    reply.raw.once('finish', finished);
    const granted = await services.inflight.reserve(bytes, waitMs);
    if (granted && state === 'done') return void services.inflight.release(bytes);
    if (granted) {
      state = 'held';
      return;
    }
    services.metrics.busyRefusals.inc({ door: 'http', reason: 'inflight-bytes' });
    reply.header('retry-after', String(retryAfterSeconds));
    // The unread body is not worth draining: close the connection after the answer.
    reply.header('connection', 'close');
    return sendProblem(reply, 'server-busy', 'too many messages are being received at once; retry shortly');
  };
}
