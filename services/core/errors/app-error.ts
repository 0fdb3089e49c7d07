/**
 * Errors typed by what the caller should do. `code` is stable and appears in API responses;
 * `status` maps to HTTP for client mistakes and dependency outages.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is wrong; retrying it unchanged will fail again. */
export class ClientError extends AppError {}

/** The thing asked for does not exist (or is not visible to the caller). */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', message, 404);
  }
}

/** A dependency (database, broker) is unavailable; the same request may succeed later. */
export class UnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: ErrorOptions,
  ) {
    super('service_unavailable', message, 503, undefined, options);
  }
}

/** The caller is over a limit; the same request may succeed after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message, 429);
  }
}

/** Coerces anything thrown into an Error, keeping the original as `cause`. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : JSON.stringify(e), { cause: e });
}
