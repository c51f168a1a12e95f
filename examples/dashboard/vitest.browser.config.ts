import { defineConfig } from 'vitest/config';

// The browser tests: Node drives Debian's Chromium through playwright-core
// against the example server. Only *.browser.test.ts are tests (e2e/harness.ts
// is what they share); the files run one after another, each in order, and
// each setup builds the server with `go build`, so its hook timeout is generous.
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
