import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveEvent } from './live-bus.ts';
import { requestAnswered } from './pending-requests.ts';

/** Streams events as server-sent events until the client goes away; a comment every 25 s keeps proxies open. */
export function openEventStream(
  req: FastifyRequest,
  reply: FastifyReply,
  subscribe: (send: (e: LiveEvent) => void) => () => void,
  /** Written with the stream's own: a hijacked reply skips the server's hooks (the messenger's CORS header). */
  headers: Record<string, string> = {},
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...headers,
  });
  res.write(': connected\n\n');
  requestAnswered(res);
  const unsubscribe = subscribe((e) => {
    res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  });
  const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
  const close = () => {
    clearInterval(ping);
    unsubscribe();
  };
  req.raw.on('close', close);
  res.on('error', close);
}
