import type { FastifyInstance } from 'fastify';
import { DomainError } from '../core/errors.ts';

/** Deeper than any request of ours needs; shallow enough that JSON.stringify and validation never exhaust the stack. */
export const maxJsonDepth = 32;

/** More values than any request of ours needs (a batch of 10,000 recipients with a few substitutions each). */
export const maxJsonValues = 500_000;

interface Frame {
  container: object;
  keys: string[] | null;
  next: number;
  label: string;
}

/**
 * Why `value` may not go further, or null: a NUL anywhere in a string or a key (PostgreSQL
 * text refuses it, and no mail field may carry one), nesting deeper than `maxDepth`, or
 * more than `maxValues` values in all (a huge array costs many times its bytes once
 * parsed). Iterative with one frame per open container, so neither hostile nesting nor a
 * million-element array costs more than the walk's depth; paths are built only to report.
 */
export function jsonProblem(value: unknown, maxDepth = maxJsonDepth, label = 'the body', maxValues = maxJsonValues): string | null {
  const frames: Frame[] = [];
  const where = (last?: string) => {
    const path = frames.map((f) => f.label).join('') + (last ?? '');
    return path === '' ? label : path.replace(/^\./, '');
  };
  let count = 0;
  let current: unknown = value;
  let currentLabel = '';
  for (;;) {
    if (++count > maxValues) return `${label} holds more than ${maxValues} values`;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return `${where(currentLabel)} contains a NUL character`;
    } else if (typeof current === 'object' && current !== null) {
      if (frames.length >= maxDepth) return `${where(currentLabel)} is nested deeper than ${maxDepth} levels`;
      const keys = Array.isArray(current) ? null : Object.keys(current);
      if (keys) for (const k of keys) if (k.includes('\u0000')) return `a key in ${where(currentLabel)} contains a NUL character`;
      frames.push({ container: current, keys, next: 0, label: currentLabel });
    }
    // The next value: the next child of the innermost open container that has one.
    let found = false;
    while (frames.length > 0) {
      const top = frames[frames.length - 1];
      const size = top.keys ? top.keys.length : (top.container as unknown[]).length;
      if (top.next < size) {
        const i = top.next++;
        if (top.keys) {
          current = (top.container as Record<string, unknown>)[top.keys[i]];
          currentLabel = `.${top.keys[i]}`;
        } else {
          current = (top.container as unknown[])[i];
          currentLabel = `[${i}]`;
        }
        found = true;
        break;
      }
      frames.pop();
    }
    if (!found) return null;
  }
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
