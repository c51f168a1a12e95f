import { defineConfig } from 'vitest/config';

// The browser tests: Node drives Debian's Chromium through playwright-core
// against the example server. One file, run in order; the setup builds the
// server with `go build`, so its hook timeout is generous.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.browser.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ['verbose'],
  },
});
