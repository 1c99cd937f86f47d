/**
 * Times (and with PLAN=1, EXPLAINs) the count query of each benchmark query on a database kept by
 * `npm run bench:search -- --only postgres --keep`:  U=postgres://…/settle_bench_xxxx npx tsx bench/search-explain.ts [0,6]
 */
import pg from 'pg';
import { wrapPool } from '../src/db/client.ts';
import { compileSearch, customNames } from '../src/platform/search/compiler.ts';
import { countQuery } from '../src/platform/search/count-compiler.ts';
import { searchRepository } from '../src/platform/search/repository.ts';
import { DEFAULT_SORT } from '../src/platform/search/schemas.ts';
import { QUERIES } from './search-queries.ts';
const db = wrapPool(new pg.Pool({ connectionString: process.env.U, max: 2 }));
const only = process.argv[2];
for (const [i, q] of QUERIES.entries()) {
  if (only && !only.split(',').includes(String(i))) continue;
  const sort = q.sort ?? DEFAULT_SORT;
  const types = await searchRepository.attributeTypes(db, 'ws_bench', customNames(q.query, sort));
  const c = compileSearch('ws_bench', q.query, sort, types);
  const cq = countQuery(c);
  const times: number[] = [];
  let n = 0;
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    n = (await db.query<{ n: number }>(cq.sql, cq.params)).rows[0]!.n;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`\n## ${i} ${q.name}: n=${n} median ${times[3]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)}`);
  if (process.env.PLAN) {
    const res = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${cq.sql}`, cq.params);
    console.log(res.rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
}
await db.close();
