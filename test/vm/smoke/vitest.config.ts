import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Only the VM bed's smoke test (test/vm/selftest.sh runs it inside the VM).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
  },
});
