// The messenger's HTTP transport: JSON requests to the Settle server that served these files, with the session's
// bearer token (never a cookie: the widget runs on the customer's site), and the errors shown to the visitor.

/** The Settle server: the widget's files are served by the server it talks to. */
export const API = new URL(import.meta.url).origin;

/**
 * @typedef {{ id: string, conversation_id: string, author: { type: string, id: string|null },
 *   kind: 'comment'|'note'|'card', body: string, created_at: number }} Message
 * @typedef {{ id: string, state: string, unread: number, last_message_at: number, preview?: string|null }} Conv
 * @typedef {(method: string, path: string, body?: unknown) => Promise<any>} Request
 */

export class MessengerError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @param {unknown} err */
export function friendly(err) {
  if (err instanceof MessengerError) {
    if (err.status === 0) return 'You seem to be offline. Check your connection and try again.';
    if (err.status >= 500) return 'Something went wrong on our side. Please try again.';
    return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  }
  return 'Something went wrong. Please try again.';
}

/**
 * One request to the messenger API; a failure throws a MessengerError (status 0 when the network failed).
 *
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {string | null} [token] the session token, sent as a bearer token
 */
export async function request(method, path, body, token = null) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new MessengerError(0, 'network_error', 'offline');
  }
  /** @type {any} */
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new MessengerError(
      res.status,
      String(e.code ?? 'error'),
      String(e.message ?? `HTTP ${res.status}`),
    );
  }
  return data;
}
