// The convergence run on postgres, in a file of its own so the two databases' runs (minutes each) go to different
// test workers. The test itself is test/helpers/convergence-suite.ts.
import { describe } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { convergenceSuite } from './helpers/convergence-suite.ts';

// PostgreSQL runs when TEST_DATABASE_URL is set (CI always sets it; dbKinds throws in CI without it).
if (dbKinds().includes('postgres')) convergenceSuite('postgres');
else describe.skip('Stripe convergence on postgres (TEST_DATABASE_URL is not set)', () => {});
