/** The admin API as the console calls it: same origin, session cookie, problem+json errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Called when any request answers 401: the session has ended. */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      // The server requires this header on changes made with the session cookie.
      'x-mailshift-console': '1',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/api/session')) for (const l of signedOutListeners) l();
    throw new ApiError(res.status, body?.code ?? 'error', body?.detail ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export const admin = (path: string) => `/api/admin/v1${path}`;
export const enc = encodeURIComponent;
