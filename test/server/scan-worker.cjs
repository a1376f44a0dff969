// The scan worker (server/src/scan-worker.ts) run from source: worker threads do not inherit
// tsx's hooks from `--import tsx`, so this bootstrap registers them in the worker.
require('tsx/cjs');
require('../../server/src/scan-worker.ts');
