// The convergence run on pglite, in a file of its own so the two databases' runs (minutes each) go to different
// test workers. The test itself is test/helpers/convergence-suite.ts.
import { convergenceSuite } from './helpers/convergence-suite.ts';

convergenceSuite('pglite');
