import { writeFileSync } from 'node:fs';
import { renderApiDocs } from '../src/server/api-docs.ts';
import { allRoutes } from '../src/server/routes.ts';

writeFileSync(new URL('../docs/api.md', import.meta.url), renderApiDocs(allRoutes));
process.stdout.write('wrote docs/api.md\n');
