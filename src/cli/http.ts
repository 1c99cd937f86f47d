/**
 * Commands that act on a running Settle call its HTTP API: `--url` (default http://127.0.0.1:$PORT) and the token in
 * SETTLE_TOKEN. They therefore work beside the embedded database, which only the server process may open.
 */
export interface ApiClient {
  url: string;
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function apiClient(opts: { url?: string; port: number; token?: string }): ApiClient {
  const url = (opts.url ?? `http://127.0.0.1:${opts.port}`).replace(/\/$/, '');
  if (!opts.token)
    throw new Error(
      'set SETTLE_TOKEN to an API token (create one with: npx settle tokens create --name cli)',
    );
  return {
    url,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${opts.token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (err) {
        throw new Error(
          `cannot reach Settle at ${url} (${(err as Error).message}); is it running? (npm start)`,
          { cause: err },
        );
      }
      const text = await res.text();
      const json = text ? (JSON.parse(text) as unknown) : undefined;
      if (!res.ok) {
        const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new Error(`${method} ${path} failed (${res.status} ${e?.code ?? ''}): ${e?.message ?? text}`);
      }
      return json as T;
    },
  };
}
