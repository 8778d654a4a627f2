import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from './typed-app.ts';

const dist = fileURLToPath(new URL('../../console/dist/', import.meta.url));

/** Paths the operators' single-page console answers itself (see console/src/router.ts). */
export const consolePaths = [
  '/',
  '/sign-in',
  '/fleet',
  '/fleet/*',
  '/infrastructures',
  '/programs',
  '/programs/*',
  '/notices',
  '/delivery',
  '/nodes',
  '/domains',
];

// Nothing outside this server: the console and status page load no fonts, scripts or
// frames from elsewhere. Styles set by React through the DOM are not inline markup.
const contentSecurityPolicy =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The built console (console/dist) at `/`, and the customers' status page at `/status/<token>`.
 * The status page is its own bundle (status.html), so no operator code or data reaches it;
 * its data comes only from /api/status/v1/<token>.
 */
export async function consolePlugin(app: HttpApp): Promise<void> {
  if (!existsSync(join(dist, 'index.html')) || !existsSync(join(dist, 'status.html'))) {
    app.log.warn({ dist }, 'console not built (npm run build:console): serving the API only');
    return;
  }
  await app.register(fastifyStatic, { root: dist, prefix: '/', wildcard: false, index: false, cacheControl: false });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', contentSecurityPolicy);
      reply.header('cache-control', 'no-cache');
    } else {
      // Vite names assets by content hash: they never change under one name.
      reply.header('cache-control', 'public, max-age=31536000, immutable');
    }
    return payload;
  });

  const page = (file: string) => async (_request: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').sendFile(file);
  for (const path of consolePaths) app.get(path, page('index.html'));
  app.get('/status/:token', page('status.html'));
}
