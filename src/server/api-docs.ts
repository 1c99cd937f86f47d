import { z } from 'zod';
import type { AnyRoute } from './route.ts';

const accessNames: Record<string, string> = {
  admin: 'admin',
  teammate: 'teammate',
  token: 'API token',
  messenger_user: 'messenger user',
  messenger_lead: 'messenger lead',
  public: 'anyone',
};

function fields(schema: z.ZodType | undefined): string {
  if (!schema) return '';
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    const req = new Set(json.required ?? []);
    return Object.keys(json.properties ?? {})
      .map((k) => (req.has(k) ? `\`${k}\`` : `\`${k}\`?`))
      .join(', ');
  } catch {
    return '';
  }
}

/** The API reference, generated from the route definitions so it cannot drift from the code. */
export function renderApiDocs(routes: readonly AnyRoute[]): string {
  const lines = [
    '# HTTP API',
    '',
    'Generated from the route definitions by `npm run docs:api`; a test fails when it is out of date.',
    'Every route declares who may call it; everyone else gets 401 (no or bad credentials) or 403 (wrong role).',
    'Errors are `{"error": {"code", "message", "path"?}}`; unknown body fields are refused.',
    '',
    '| method | path | who | what | body | query |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of routes) {
    const who = r.access.map((a) => accessNames[a] ?? a).join(', ');
    lines.push(
      `| ${r.method} | \`${r.url}\` | ${who} | ${r.summary} | ${fields(r.body)} | ${fields(r.query)} |`,
    );
  }
  lines.push(
    '',
    'App webhooks are mounted at `/webhooks/<app path>` (for example `/webhooks/stripe/:endpoint`); anyone may call',
    'them and each app verifies the request itself (Stripe: the `Stripe-Signature` header).',
    '',
  );
  return lines.join('\n');
}
