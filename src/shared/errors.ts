/**
 * Typed, per-module error codes. A module declares its codes with their HTTP status once
 * (`defineErrors`), throws `AppError`s, and the server's error handler is the one place that turns them
 * into `{error: {code, message, path?}}` bodies.
 */
export class AppError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly status: number,
    public readonly path?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export type ErrorFactory<C extends string> = (code: C, message: string, path?: string) => AppError;

export function defineErrors<const M extends Record<string, number>>(
  codes: M,
): ErrorFactory<Extract<keyof M, string>> {
  return (code, message, path) => new AppError(code, message, codes[code] ?? 500, path);
}

/** Codes shared by every module. */
export const commonError = defineErrors({
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
});
