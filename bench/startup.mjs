// Start-up per command, as ratios to `node -e 0` measured in this run: every command is a fresh
// process from the checkout's bin/xenbridge, the commands run in turn (alternating rounds, so the
// machine's load falls on all of them alike) and each figure is the median of its rounds.
//   --version           package.json only (bin/version.cjs, no snapshot)
//   --help              the launcher and commander
//   status              the run directory only
//   plan                the lab example against a namespace with its NIC (config, state read, plan)
//   hook offline        the vif hook's offline path for a vif that is gone (xenstore double, no-op)
// bin/xenbridge runs as a program, as /usr/bin/xenbridge does: from the CLI's startup snapshot; the
// rows marked "no snapshot" are the same commands with XENBRIDGE_NO_SNAPSHOT=1.
import { freshRunDir } from './env.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labTopology } from '../dist/lab/example.js';
import { BIN, readySnapshot, withoutSnapshot } from './snapshot.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const timed = (argv, env) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
};

export const benchStartup = async (rounds = 15) => {
  const dir = freshRunDir('startbench');
  const ns = `xbstart${process.pid}`;
  const sw = `${ns}s`;
  const cfg = join(dir, 'lab.yaml');
  const store = join(dir, 'store');
  writeFileSync(cfg, labTopology('classic'));
  mkdirSync(join(store, 'backend/vif/7/0'), { recursive: true });
  writeFileSync(join(store, 'backend/vif/7/0/bridge'), 'xenbr0');
  for (const n of [ns, sw]) execFileSync('ip', ['netns', 'add', n]);
  try {
    // The lab's NIC: a veth whose peer lives in another namespace counts as one.
    execFileSync('ip', ['-n', sw, 'link', 'add', 'name', 'sw0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    const env = { ...process.env, XENBRIDGE_RUN_DIR: dir };
    const hookEnv = {
      PATH: `${join(ROOT, 'test/fixtures/xenstore')}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XENSTORE_DIR: store,
      XENBRIDGE_RUN_DIR: dir, XENBRIDGE_CONFIG: cfg, XENBRIDGE_NETNS: ns, XENBRIDGE_HOTPLUG_LOG: join(dir, 'hotplug.log'),
      vif: 'vif7.0', XENBUS_PATH: 'backend/vif/7/0', XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '', script: join(ROOT, 'hooks/vif-xenbridge'),
    };
    await readySnapshot();
    const plain = withoutSnapshot(env);
    const cases = [
      ['node -e 0', ['node', '-e', '0'], env],
      ['--version', [BIN, '--version'], env],
      ['--help', [BIN, '--help'], env],
      ['status', [BIN, 'status', '--netns', ns], env],
      ['plan (lab)', [BIN, 'plan', '-c', cfg, '--netns', ns], env],
      ['hook offline', [BIN, 'vif', 'offline', 'type_if=vif'], hookEnv],
      ['--help, no snapshot', [BIN, '--help'], plain],
      ['status, no snapshot', [BIN, 'status', '--netns', ns], plain],
      ['plan, no snapshot', [BIN, 'plan', '-c', cfg, '--netns', ns], plain],
    ];
    const times = cases.map(() => []);
    for (const [, argv, e] of cases) timed(argv, e);
    for (let r = 0; r < rounds; r++) {
      const order = cases.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) times[i].push(timed(cases[i][1], cases[i][2]));
    }
    return { rounds, rows: cases.map(([name], i) => ({ name, ms: median(times[i]) })) };
  } finally {
    for (const n of [sw, ns]) execFileSync('ip', ['netns', 'del', n]);
    rmSync(dir, { recursive: true, force: true });
  }
};

export const printStartup = (r) => {
  const floor = r.rows[0].ms;
  console.log(`start-up from the checkout, median of ${r.rounds} alternating rounds (ratio to node -e 0; --version target <= 1.2x):`);
  for (const { name, ms } of r.rows) console.log(`  ${name.padEnd(20)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / floor).toFixed(2)}x`);
};
