import { defineConfig } from 'vitest/config';

// Runs inside the QEMU VM (Debian's stock kernel, 802.1Q and vlan_filtering available):
// test/vm/run.sh -- vitest run -c vitest.vm.config.ts
export default defineConfig({
  test: {
    include: ['test/vlan/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
