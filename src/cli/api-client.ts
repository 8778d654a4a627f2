import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An expected CLI failure: main prints `error: <message>` and exits 1. */
export class CliError extends Error {}

export interface ApiCall {
  method?: 'GET' | 'POST' | 'DELETE';
  /** Path segments after /api/admin/v1; each is URL-encoded. */
  path: string[];
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

interface Problem {
  title?: string;
  detail?: string;
  status?: number;
}

/** Fetch-based client of the admin API; the CLI never touches the database. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(env: Record<string, string | undefined>) {
    this.baseUrl = (env.MAILSHIFT_URL || 'http://127.0.0.1:8025').replace(/\/+$/, '');
    this.token = env.MAILSHIFT_ADMIN_TOKEN || readTokenFile(env.MAILSHIFT_DATA_DIR ?? './data');
  }

  async request<T>(call: ApiCall): Promise<T> {
    const url = new URL(`${this.baseUrl}/api/admin/v1/${call.path.map(pathSegment).join('/')}`);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method: call.method ?? 'GET',
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
      });
    } catch (err) {
      const cause = causeOf(err);
      const suffix = cause === 'ECONNREFUSED' ? '' : ` [${cause}]`;
      throw new CliError(`cannot reach mailshift at ${this.baseUrl} (is \`mailshift serve\` running?)${suffix}`);
    }
    const text = await response.text();
    const body: unknown = text ? parseJson(text) : undefined;
    if (!response.ok) {
      const problem = (body && typeof body === 'object' ? body : {}) as Problem;
      const title = problem.title ?? `HTTP ${response.status} ${response.statusText}`;
      throw new CliError(problem.detail ? `${title}: ${problem.detail}` : title);
    }
    return body as T;
  }
}

/**
 * A last guard under the per-command checks (cli-names.ts): encoding keeps "/", "?" and "#"
 * inside the segment, but URL parsing still resolves "." and ".." into another route, and
 * an empty segment changes the route too.
 */
function pathSegment(segment: string): string {
  if (segment === '' || segment === '.' || segment === '..') throw new CliError(`${JSON.stringify(segment)} cannot be used as a name`);
  return encodeURIComponent(segment);
}

function readTokenFile(dataDir: string): string | undefined {
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(err);
}

export interface OutputOptions {
  json?: boolean;
}

/** Call the API, then print either JSON (machine-readable, stdout only) or a human line. */
export async function callAndPrint<T>(
  api: ApiClient,
  call: ApiCall,
  options: OutputOptions,
  human: (body: T) => string,
  json: (body: T) => unknown = (body) => body,
): Promise<void> {
  const body = await api.request<T>(call);
  process.stdout.write(options.json ? `${JSON.stringify(json(body) ?? null)}\n` : `${human(body)}\n`);
}

/** Commander collector for repeatable options (`--relay a --relay b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Plain aligned columns; the first row is the header. */
export function table(rows: (string | number | boolean | null | undefined)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0))) ?? [];
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
