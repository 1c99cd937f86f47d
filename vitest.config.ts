import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more forks than that only adds contention for PGlite's WASM start-up.
    maxWorkers: 2,
    pool: 'forks',
    // The emulator re-renders every cached JSON it serves and fails on a difference (src/emulator/expand.ts).
    env: { EMULATOR_VERIFY_JSON_CACHE: '1' },
  },
});
