import type { FastifyReply } from 'fastify';
import type { Services } from '../app/services.ts';
import { DomainError } from '../core/errors.ts';
import { confirmPage, donePage, missingPage, pageLanguage, type PageLanguage } from './presenters/unsubscribe-page.ts';
import { HtmlPage, UnsubscribeBody, UnsubscribeParams, UnsubscribeQuery } from './schemas/feedback.ts';
import type { HttpApp } from './typed-app.ts';

const tags = ['unsubscribe'];
const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * One-click unsubscribe (RFC 8058) at `/u/<token>`, open to anyone holding the link: a
 * POST with `List-Unsubscribe=One-Click` suppresses the recipient for the instance at once
 * and answers 200 (no cookie, no auth, no redirect); a GET only shows a confirmation page
 * whose button makes that POST, so link scanners unsubscribe nobody.
 */
export async function unsubscribePlugin(app: HttpApp, services: Pick<Services, 'feedback'>): Promise<void> {
  // Mailbox providers post forms; this scope alone reads them.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    const m = /name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/i.exec(body as string);
    done(null, m ? { 'List-Unsubscribe': m[1] } : {});
  });

  const page = (reply: FastifyReply, status: number, html: string) => reply.code(status).headers(pageHeaders).send(html);
  /** The page `render` makes, or the not-found page for a link that is not ours. */
  const answer = async (reply: FastifyReply, lang: PageLanguage, render: () => Promise<string>) => {
    try {
      return page(reply, 200, await render());
    } catch (err) {
      if (err instanceof DomainError && err.code === 'not-found') return page(reply, 404, missingPage(lang));
      throw err;
    }
  };

  app.get(
    '/u/:token',
    {
      schema: {
        tags,
        summary: 'A confirmation page whose button unsubscribes (en, es)',
        params: UnsubscribeParams,
        querystring: UnsubscribeQuery,
        response: { 200: HtmlPage, 404: HtmlPage },
      },
    },
    async (request, reply) => {
      const lang = pageLanguage(request.query.lang, request.headers['accept-language']);
      return answer(reply, lang, async () => confirmPage(lang, (await services.feedback.target(request.params.token)).recipient));
    },
  );

  app.post(
    '/u/:token',
    {
      schema: {
        tags,
        summary: 'One-click unsubscribe (RFC 8058): body List-Unsubscribe=One-Click',
        params: UnsubscribeParams,
        querystring: UnsubscribeQuery,
        body: UnsubscribeBody,
        response: { 200: HtmlPage, 404: HtmlPage },
      },
    },
    async (request, reply) => {
      const lang = pageLanguage(request.query.lang, request.headers['accept-language']);
      if (request.body?.['List-Unsubscribe'] !== 'One-Click') throw new DomainError('invalid-request', 'the body must be List-Unsubscribe=One-Click');
      return answer(reply, lang, async () => donePage(lang, (await services.feedback.unsubscribe(request.params.token)).recipient));
    },
  );
}
