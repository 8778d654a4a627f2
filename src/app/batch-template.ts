import { Context, Drop, Liquid, Tag, TokenKind, toValueSync, type Emitter, type FS, type Template } from 'liquidjs';

/**
 * Liquid for tenant-written batch templates: no file system, and every render bounded
 * in parse size, time, memory and output. A tenant's template is hostile input: it
 * must not read the server's files nor hold the event loop or the heap.
 */

export interface TemplateLimits {
  /** Characters of template source per field. */
  parseChars: number;
  /** liquidjs's allocation budget per render (array items, string characters). */
  memory: number;
}

export const templateFilesRefused = 'templates cannot include files (include, render and layout are not available)';

/** Thrown from an emitter when a render's output would pass its budget. */
export class OutputLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`output passes ${limit} characters`);
  }
}

// Fails at parse time, so a template naming a file is refused before anything renders.
class FileTagRefused extends Tag {
  constructor(...args: ConstructorParameters<typeof Tag>) {
    super(...args);
    throw new Error(templateFilesRefused);
  }
  render(): void {}
}

// Never reached while the tags above are replaced; if a liquidjs upgrade adds another
// route to partials, it still finds no disk behind it.
const noFiles: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => {
    throw new Error(templateFilesRefused);
  },
  readFileSync: () => {
    throw new Error(templateFilesRefused);
  },
  resolve: (_dir, file) => file,
  contains: async () => false,
  containsSync: () => false,
};

export function sandboxedLiquid(limits: TemplateLimits, html: boolean): Liquid {
  const engine = new Liquid({
    fs: noFiles,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    dynamicPartials: false,
    strictFilters: true,
    ownPropertyOnly: true,
    parseLimit: limits.parseChars,
    memoryLimit: limits.memory,
    // Substituted values land in HTML escaped, so a recipient's name cannot inject markup.
    ...(html ? { outputEscape: 'escape' as const } : {}),
  });
  for (const name of ['include', 'render', 'layout']) engine.registerTag(name, FileTagRefused);
  boundFilterInputs(engine);
  return engine;
}

/** Items an array filter (sort, where, uniq…) may work on: one call runs to its end, so its size is its time. */
export const maxFilterItems = 10_000;
/** Characters `split` may cut up (its result goes to the array filters). */
export const maxSplitChars = 100_000;

/**
 * liquidjs checks its time limit only between nodes, so a single filter call over a large
 * array (a sort, a where_exp over a split string) holds the event loop however long it
 * takes. Every filter is wrapped to refuse inputs past these sizes, which no mail needs.
 */
function boundFilterInputs(engine: Liquid): void {
  for (const [name, impl] of Object.entries(engine.filters)) {
    const options = typeof impl === 'function' ? { handler: impl, raw: false } : impl;
    const handler = options.handler;
    engine.registerFilter(name, {
      raw: options.raw,
      handler(this: unknown, value: unknown, ...args: unknown[]) {
        if (Array.isArray(value) && value.length > maxFilterItems)
          throw new Error(`${filterInputRefused}: ${name} got ${value.length} items; at most ${maxFilterItems}`);
        if (name === 'split' && typeof value === 'string' && value.length > maxSplitChars)
          throw new Error(`${filterInputRefused}: split got ${value.length} characters; at most ${maxSplitChars}`);
        return (handler as (this: unknown, ...a: unknown[]) => unknown).call(this, value, ...args);
      },
    });
  }
}

export const filterInputRefused = 'filter input too large';

/** Renders with a deadline (ms from now) and stops as soon as the output passes `maxChars`. */
export function renderBounded(engine: Liquid, templates: Template[], scope: object, renderMs: number, maxChars: number): string {
  const ctx = new Context(scope, engine.options, { sync: true, renderLimit: renderMs }, { liquid: engine });
  const emitter = new BoundedEmitter(maxChars);
  toValueSync(engine.renderer.renderTemplates(templates, ctx, emitter));
  return emitter.buffer;
}

/**
 * Characters every render of `templates` emits at least: the literal text before the first
 * top-level tag (a tag may hold a `break` that ends the output), so a batch certain to pass
 * its cap is refused before anything renders.
 */
export function minimumOutputChars(templates: Template[]): number {
  let chars = 0;
  for (const t of templates) {
    if (t.token.kind === TokenKind.Tag) break;
    if (t.token.kind === TokenKind.HTML) chars += (t.token as unknown as { getContent(): string }).getContent().length;
  }
  return chars;
}

/**
 * Tags and outputs in `source`, counting no further than `atMost`. liquidjs parses in time
 * that grows with the square of the token count (80,000 `{{a}}` take seconds), which the
 * character limit alone does not bound.
 */
export function tagCount(source: string, atMost: number): number {
  const delimiters = /\{[{%]/g;
  let n = 0;
  while (n <= atMost && delimiters.test(source)) n++;
  return n;
}

/** The innermost error under liquidjs's wrappers. */
export function rootCause(err: unknown): unknown {
  let e = err;
  while (e instanceof Error && (e as { originalError?: unknown }).originalError instanceof Error) e = (e as { originalError?: unknown }).originalError;
  return e;
}

class BoundedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly maxChars: number) {}
  write(value: unknown): void {
    const s = stringify(value);
    // Lengths of V8's concatenated strings are known without flattening them, so this
    // check costs nothing even when a loop repeats a large value.
    if (this.buffer.length + s.length > this.maxChars) throw new OutputLimitExceeded(this.maxChars);
    this.buffer += s;
  }
}

// As liquidjs writes values to its own emitters.
function stringify(value: unknown): string {
  const v = value instanceof Drop && typeof value.valueOf === 'function' ? value.valueOf() : value;
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}
