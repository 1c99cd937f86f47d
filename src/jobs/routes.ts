import { z } from 'zod';
import { ADMIN } from '../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../server/route.ts';
import { defineErrors } from '../shared/errors.ts';
import { jobRepository, type JobRow } from './repository.ts';

const jobError = defineErrors({ job_not_found: 404 });
const unix = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);

function toJob(r: JobRow) {
  return {
    id: r.id,
    queue: r.queue,
    status: r.status,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    run_at: unix(r.run_at),
    last_error: r.last_error,
    created_at: unix(r.created_at),
    updated_at: unix(r.updated_at),
    finished_at: unix(r.finished_at),
  };
}

export const jobRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/jobs',
    access: ADMIN,
    summary: 'Background jobs by status (dead letters included), with counts',
    query: z.strictObject({
      status: z.enum(['queued', 'running', 'succeeded', 'dead']).optional(),
      per_page: z.coerce.number().int().min(1).max(200).default(50),
    }),
    async handler({ platform, principal, query }) {
      const p = requireWorkspace(principal);
      const rows = await jobRepository.list(platform.db, p.workspaceId, query.status, query.per_page);
      return {
        type: 'list',
        counts: await jobRepository.counts(platform.db, p.workspaceId),
        data: rows.map(toJob),
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/jobs/:id/retry',
    access: ADMIN,
    summary: 'Run a dead job again',
    // Job ids are bigints; beyond 2^53 a number is no longer exact (and beyond 2^63 the query would fail).
    params: z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      if (!(await jobRepository.requeueDead(platform.db, p.workspaceId, params.id))) {
        throw jobError('job_not_found', `no dead job ${params.id}`, 'id');
      }
      const row = await jobRepository.get(platform.db, p.workspaceId, params.id);
      return row ? toJob(row) : undefined;
    },
  }),
];
