// The inbox's HTTP client: same-origin JSON with the session cookie, the CSRF header on writes, and errors as
// ApiError with the server's `{error: {code, message, path?}}`.

export class ApiError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
   * @param {string} code
   * @param {string} message
   * @param {{ path?: string, retryAfter?: number }} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.path = extra.path;
    this.retryAfter = extra.retryAfter;
  }
}

/** @type {string | null} */
let csrfToken = null;
/** @type {(() => void) | null} */
let onUnauthorized = null;

/** @param {string | null} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** Called once when any request answers 401 (the session expired or was logged out elsewhere). */
export function setUnauthorizedHandler(/** @type {() => void} */ fn) {
  onUnauthorized = fn;
}

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @param {{ quiet401?: boolean }} [opts] quiet401: a 401 is the caller's business (login, boot)
 * @returns {Promise<any>}
 */
export async function api(method, url, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'Can’t reach the Settle server. Check your connection and try again.',
    );
  }
  if (res.status === 204) return undefined;
  /** @type {any} */
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    const retryHeader = Number(res.headers.get('retry-after'));
    const retryFromText = Number(/(\d+) seconds/.exec(String(err.message ?? ''))?.[1]);
    const retryAfter = retryHeader > 0 ? retryHeader : retryFromText > 0 ? retryFromText : undefined;
    const apiErr = new ApiError(
      res.status,
      String(err.code ?? `http_${res.status}`),
      String(err.message ?? `The server answered ${res.status}`),
      { path: err.path, retryAfter },
    );
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw apiErr;
  }
  return data;
}

/**
 * A message fit for a person, from any error.
 *
 * @param {unknown} err
 */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return err.message;
    if (err.code === 'csrf_failed') return 'Your session is out of date. Reload the page and try again.';
    // A 500 is the server's own fault, unexplained. A 502/503 in our JSON is a failure the server explains (Stripe
    // unreachable while connecting or disconnecting: `stripe_unreachable`), and that explanation is what tells the
    // admin what to fix; a proxy's 502 page has no JSON (code `http_502`) and stays generic.
    if (err.status >= 500 && (err.status === 500 || err.code.startsWith('http_')))
      return 'Something went wrong on the server. Try again in a moment.';
    const msg = err.message.charAt(0).toUpperCase() + err.message.slice(1);
    return msg.endsWith('.') ? msg : `${msg}.`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * "2 minutes", "45 seconds".
 *
 * @param {number} seconds
 */
export function formatWait(seconds) {
  if (seconds >= 90) {
    const m = Math.ceil(seconds / 60);
    return `${m} minutes`;
  }
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/**
 * An API error that names one of a form's fields (its `path`: `api_base`, `input.customer_id`,
 * `settings.metadata_key`), told with that field's label instead of the wire name: "API base: enter a full URL…".
 * Null when it names none of them.
 *
 * @template {{ name: string, label: string }} F
 * @param {unknown} err
 * @param {readonly F[]} fields
 * @returns {{ field: F, text: string } | null}
 */
export function fieldError(err, fields) {
  if (!(err instanceof ApiError) || !err.path) return null;
  const path = err.path;
  const field = fields.find((f) => f.name === path.split('.').at(-1));
  if (!field) return null;
  const message = err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
  const text = `${field.label}: ${message}`;
  return { field, text: text.endsWith('.') ? text : `${text}.` };
}
