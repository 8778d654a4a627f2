import type { FastifyInstance } from 'fastify';
import { DomainError } from '../core/errors.ts';

/** Deeper than any request of ours needs; shallow enough that JSON.stringify and validation never exhaust the stack. */
export const maxJsonDepth = 32;

/**
 * Why `value` may not go further, or null: a NUL anywhere in a string or a key (PostgreSQL
 * text refuses it, and no mail field may carry one), or nesting deeper than `maxDepth`.
 * Iterative, so hostile nesting cannot overflow the stack here either.
 */
export function jsonProblem(value: unknown, maxDepth = maxJsonDepth, label = 'the body'): string | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const where = item.path === '' ? label : item.path;
    if (typeof item.value === 'string') {
      if (item.value.includes('\u0000')) return `${where} contains a NUL character`;
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= maxDepth) return `${where} is nested deeper than ${maxDepth} levels`;
    if (Array.isArray(item.value)) {
      for (let i = item.value.length - 1; i >= 0; i--) stack.push({ value: item.value[i], depth: item.depth + 1, path: `${item.path}[${i}]` });
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      if (key.includes('\u0000')) return `a key in ${where} contains a NUL character`;
      stack.push({ value: child, depth: item.depth + 1, path: item.path === '' ? key : `${item.path}.${key}` });
    }
  }
  return null;
}

/**
 * Every JSON body is parsed by fastify's own (prototype-poisoning safe) parser and then
 * checked once here, before any route, schema or store sees it; route parameters and
 * query strings get the NUL check too. Refusals are 400 `invalid-request` naming the field.
 */
export function installJsonHygiene(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      const problem = jsonProblem(value);
      if (problem) return done(new DomainError('invalid-request', problem), undefined);
      done(null, value);
    });
  });
  app.addHook('preValidation', async (request) => {
    const problem = jsonProblem(request.params, 2, 'the path') ?? jsonProblem(request.query, 3, 'the query');
    if (problem) throw new DomainError('invalid-request', problem);
  });
}
