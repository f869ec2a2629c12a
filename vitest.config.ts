import { defineConfig } from 'vitest/config';

// Host suites: pure unit tests and real-kernel tests in throwaway network namespaces.
// VLAN suites need 802.1Q and run inside the VM bed (vitest.vm.config.ts).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/netns/**/*.test.ts', 'test/hostile/**/*.test.ts'],
    pool: 'forks',
    // vitest's default is one worker per core but one (here: one), and most of these files wait on
    // the kernel, timers and child processes, not on the CPU: three at once keep two cores busy.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
