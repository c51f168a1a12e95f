import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The component tests run in jsdom; the browser tests have their own config
// (vitest.browser.config.ts) because they drive a real Chromium from Node.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    // `npm run dev` proxies the API to an example server started on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
    restoreMocks: true,
  },
});
