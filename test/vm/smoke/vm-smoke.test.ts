// Run by test/vm/selftest.sh inside the VM:
//   test/vm/run.sh -- npx vitest run -c test/vm/smoke/vitest.config.ts
// Proves vitest runs and reports normally in the bed, on a kernel that has 802.1Q.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('VM test bed', () => {
  it('runs inside the VM (run.sh sets XENBRIDGE_IN_VM)', () => {
    expect(process.env.XENBRIDGE_IN_VM).toBe('1');
  });

  it('has a kernel with 802.1Q loaded', () => {
    expect(existsSync('/proc/net/vlan/config')).toBe(true);
  });

  it('has the 8021q and bridge modules loaded', () => {
    const modinfo = readFileSync('/proc/modules', 'utf8');
    expect(modinfo).toMatch(/^bridge /m);
    expect(modinfo).toMatch(/^8021q /m);
  });
});
