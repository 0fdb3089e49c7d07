/**
 * The console's only way to the API: every call goes to the public API with the operator's
 * credential as `Authorization: Bearer …` (no cookies, so nothing for a CSRF to ride on).
 * Every failure becomes an ApiError carrying the API's own `error.message`; a 401 on any call is
 * also reported to `onUnauthorized`, which sends the operator back to the sign-in.
 */
import type { Overview, ReplayRequest, ReplayResult, TaskFilter, TaskPage, TaskView, WhoAmI } from './api-types';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when no answer arrived. */
    readonly status: number,
    /** The API's stable error code (`not_found`, `conflict`, …), or `network` / `http_<status>`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

/** An aborted request (the view moved on): callers ignore it. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

/** The message to show for any error a call raised; never a stack trace. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface ApiClientOptions {
  /** The stored credential, read on every call (null: send none, as with AUTH_MODE=none). */
  credential: () => string | null;
  /** Called on every 401, before the call's promise rejects. */
  onUnauthorized: (error: ApiError) => void;
  /** Origin-relative prefix of the API (default: the console's own origin, at its root). */
  baseUrl?: string;
}

export interface ApiClient {
  whoami(credential: string | null, signal?: AbortSignal): Promise<WhoAmI>;
  overview(signal?: AbortSignal): Promise<Overview>;
  listTasks(filter: TaskFilter, page: { limit: number; cursor?: string | undefined }, signal?: AbortSignal): Promise<TaskPage>;
  getTask(id: string, signal?: AbortSignal): Promise<TaskView>;
  retryTask(id: string): Promise<TaskView>;
  cancelTask(id: string): Promise<TaskView>;
  replayDeadLetters(request: ReplayRequest, signal?: AbortSignal): Promise<ReplayResult>;
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

async function readError(res: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall back to the status line below.
  }
  const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${res.status}`;
  const message =
    typeof body?.error?.message === 'string' && body.error.message !== ''
      ? body.error.message
      : `The API answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
  return new ApiError(res.status, code, message);
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl ?? '';

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: unknown; signal?: AbortSignal | undefined; credential?: string | null; reportUnauthorized?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const credential = init.credential === undefined ? options.credential() : init.credential;
    if (credential) headers.Authorization = `Bearer ${credential}`;
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers,
        body: init.body === undefined ? null : JSON.stringify(init.body),
        signal: init.signal ?? null,
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e: unknown) {
      if (isAbort(e)) throw e;
      throw new ApiError(0, 'network', 'The API could not be reached. Check the connection and try again.', { cause: e });
    }
    if (!res.ok) {
      const error = await readError(res);
      if (res.status === 401 && init.reportUnauthorized !== false) options.onUnauthorized(error);
      throw error;
    }
    return (await res.json()) as T;
  }

  const id = (taskId: string) => encodeURIComponent(taskId);

  return {
    // The sign-in handles its own 401 (it is the answer it asks for), so it is not reported.
    whoami: (credential, signal) => call<WhoAmI>('GET', '/whoami', { credential, signal, reportUnauthorized: false }),
    overview: (signal) => call<Overview>('GET', '/overview', { signal }),
    listTasks: (filter, page, signal) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filter)) if (value) query.set(key, String(value));
      query.set('limit', String(page.limit));
      if (page.cursor) query.set('cursor', page.cursor);
      return call<TaskPage>('GET', `/tasks?${query.toString()}`, { signal });
    },
    getTask: (taskId, signal) => call<TaskView>('GET', `/tasks/${id(taskId)}`, { signal }),
    retryTask: (taskId) => call<TaskView>('POST', `/tasks/${id(taskId)}/retry`),
    cancelTask: (taskId) => call<TaskView>('POST', `/tasks/${id(taskId)}/cancel`),
    replayDeadLetters: (request, signal) => call<ReplayResult>('POST', '/dead-letters/replay', { body: request, signal }),
  };
}
