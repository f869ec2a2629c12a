// Traffic verify on this machine's kernel (bridges and veth, no 802.1Q): the untagged path of a
// real apply, real tcpdump captures read by our pcap reader, real faults and their diagnosis.
// The VLAN cases run in the VM bed (test/vlan/traffic.test.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { createContext } from '../../src/context.js';
import { createRunner } from '../../src/exec/runner.js';
import { readCapture, startCaptures, stopCaptures } from '../../src/verify/traffic/capture.js';
import { verifyTraffic } from '../../src/verify/traffic/traffic.js';
import { readState } from '../../src/state/read.js';
import type { HostState } from '../../src/state/types.js';
import { renderTraffic } from '../../src/verify/traffic/report.js';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

const TOPOLOGY = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';
let sb: Sandbox;
let cfg: string;

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPOLOGY));
  await applyTopology(parseTopology(TOPOLOGY), dom0Ctx());
});
afterAll(async () => sb.cleanup());

const dom0Ctx = () => createContext({ netns: sb.dom0, runDirRoot: sb.runDir });
const verify = () => verifyTraffic(parseTopology(TOPOLOGY), dom0Ctx());

const waitFor = async (what: string, ok: (s: HostState) => boolean): Promise<void> => {
  for (let i = 0; i < 40; i++) {
    if (ok(await readState(createRunner(sb.dom0)))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/**
 * After a fault is undone: the bridge puts a port back to forwarding when linkwatch reports its
 * carrier, and both sides forget their ARP entries, so the switch learns dom0's MAC from dom0's
 * own request again (asked by the switch, the address-less bridge would answer too).
 */
const settled = async (): Promise<void> => {
  await waitFor('forwarding ports', (s) => s.links.filter((l) => l.master === 'xenbr0').every((l) => l.up && l.carrier && l.portState === 'forwarding'));
  await sb.inSw('ip neigh flush all');
  await sb.inDom0('ip neigh flush all');
};

describe('captures written by tcpdump, read by our pcap reader', () => {
  it('hold the ARP and ICMP echo frames a ping and an arping sent, with addresses, pattern and wire length', async () => {
    const dir = join(sb.runDir, 'caps');
    const dom0 = createRunner(sb.dom0);
    mkdirSync(dir, { recursive: true });
    const [cap] = await startCaptures(dom0, ['peth0'], dir);
    await dom0.run('ip', ['neigh', 'flush', 'dev', 'eth0'], { inNetns: true });
    await dom0.run('arping', ['-c', '1', '-w', '1', '-I', 'eth0', '192.0.2.1'], { inNetns: true });
    await dom0.run('ping', ['-c', '1', '-W', '1', '-p', '78627669', '-M', 'do', '-s', '1472', '192.0.2.1'], { inNetns: true });
    await stopCaptures([cap!]);
    const frames = readCapture(cap!);
    if (typeof frames === 'string') throw new Error(frames);
    const arps = frames.filter((f) => f.arp?.tpa === '192.0.2.1' || f.arp?.spa === '192.0.2.1').map((f) => [f.arp?.op, f.vids]);
    expect(arps).toContainEqual([1, []]);
    expect(arps).toContainEqual([2, []]);
    const echo = frames.find((f) => f.ipv4?.icmp?.type === 8);
    expect([echo?.ipv4?.src, echo?.ipv4?.dst, echo?.ipv4?.df, echo?.ipv4?.totalLength, echo?.length]).toEqual(['192.0.2.10', '192.0.2.1', true, 1500, 1514]);
    expect(echo?.ipv4?.icmp?.payload.includes(Buffer.from('xbvi'))).toBe(true);
    expect(frames.find((f) => f.ipv4?.icmp?.type === 0)?.ipv4?.src).toBe('192.0.2.1');
  });

  it('report a device that does not exist instead of a capture', async () => {
    const [cap] = await startCaptures(createRunner(sb.dom0), ['nosuch0'], sb.runDir);
    expect(readCapture(cap!)).toMatch(/nosuch0/);
  });
});

describe('verify --traffic on the untagged path', () => {
  it('passes when dom0, its veth pair and the uplink all see the echo, its reply and the DF probe', async () => {
    const r = await verify();
    expect(r.paths.map((p) => [p.spec.id, p.ok, p.hops.map((h) => h.hop.dev)])).toEqual([['untagged', true, ['eth0', 'xenbr0-d0', 'peth0']]]);
    expect(r.paths[0]?.hops.map((h) => h.checks.map((c) => `${c.probe} ${c.dir} ${c.ok && c.seen.tags.length === 1 && c.seen.tags[0] === null}`)))
      .toEqual(Array(3).fill(['echo request true', 'echo reply true', 'df request true', 'df reply true']));
    expect(renderTraffic(r, (ok) => (ok ? 'ok' : 'FAIL')).at(-1)).toMatch(/^ok 1 of 1 paths pass \(\d+\.\d s\)$/);
    expect(r.elapsedMs).toBeLessThan(10_000);
  });

  it('finds a lowered MTU: the DF probe vanishes entering that port', async () => {
    await sb.ip('link set dev xenbr0-d0 mtu 1400');
    try {
      const p = (await verify()).paths[0]!;
      expect([p.ok, p.vanished?.hop, p.vanished?.probe, p.vanished?.after]).toEqual([false, 'xenbr0-d0', 'df', 'eth0']);
      expect(p.diagnoses.map((d) => [d.rule, d.hop])).toEqual([['mtu', 'xenbr0-d0']]);
    } finally {
      await sb.ip('link set dev xenbr0-d0 mtu 1500');
    }
  });

  it('finds the uplink down, and the switch port down (no carrier)', async () => {
    await sb.ip('link set dev peth0 down');
    try {
      const p = (await verify()).paths[0]!;
      expect([p.vanished?.hop, p.vanished?.why, p.diagnoses.map((d) => [d.rule, d.fix])]).toEqual(['peth0', 'no-capture', [['port-down', 'ip link set dev peth0 up']]]);
    } finally {
      await sb.ip('link set dev peth0 up');
      await settled();
    }
    await sb.inSw('ip link set dev sw0 down');
    // As an admin meets it: the link has been down long enough for the bridge to disable the port.
    await waitFor('peth0 without carrier', (s) => s.links.some((l) => l.name === 'peth0' && !l.carrier && l.portState === 'disabled'));
    try {
      const p = (await verify()).paths[0]!;
      expect([p.vanished?.hop, p.vanished?.why, p.diagnoses[0]?.rule, p.diagnoses[0]?.message]).toEqual([
        // dom0 had to ask for the switch's MAC first: the ARP request is what stops.
        'peth0', 'missing', 'port-down', 'peth0 (uplink port of xenbr0) has no carrier: the ARP request stops there after xenbr0-d0',
      ]);
    } finally {
      await sb.inSw('ip link set dev sw0 up');
      await settled();
    }
  });

  it('the CLI: exit 3 and the same facts in --json when a path fails, captures kept with --pcap-dir', async () => {
    // The switch stops answering pings: requests leave the uplink, nothing comes back.
    await sb.inSw('sysctl -qw net.ipv4.icmp_echo_ignore_all=1');
    try {
      const dir = join(sb.runDir, 'kept');
      const r = await cli(['verify', '--traffic', '-c', cfg, '--netns', sb.dom0, '--json', '--pcap-dir', dir], sb.env);
      expect(r.code).toBe(3);
      const j = JSON.parse(r.stdout) as { ok: boolean; pcapDir: string; paths: { vanished: { hop: string; dir: string }; hops: { dev: string; request: { ok: boolean } }[]; diagnoses: { rule: string }[] }[] };
      expect([j.ok, j.pcapDir, j.paths[0]?.vanished.hop, j.paths[0]?.vanished.dir, j.paths[0]?.diagnoses.map((d) => d.rule)]).toEqual([false, dir, 'peth0', 'reply', ['upstream-not-trunking']]);
      expect(j.paths[0]?.hops.map((h) => [h.dev, h.request.ok])).toEqual([['eth0', true], ['xenbr0-d0', true], ['peth0', true]]);
      // One pcap per hop, the probe port standing in for a guest included.
      expect(readdirSync(dir).map((f) => f.replace(/^xbp0-\w+/, 'xbp0-ID')).sort()).toEqual(['eth0.pcap', 'peth0.pcap', 'xbp0-ID.pcap', 'xenbr0-d0.pcap']);
      expect(readFileSync(join(dir, 'peth0.pcap')).readUInt32LE(0)).toBe(0xa1b2c3d4);
    } finally {
      await sb.inSw('sysctl -qw net.ipv4.icmp_echo_ignore_all=0');
      await settled();
    }
    const ok = await cli(['verify', '--traffic', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([ok.code, ok.stdout.split('\n')[0]]).toEqual([0, 'untagged: ping 192.0.2.1 from 192.0.2.10 via eth0; DF 1500 bytes']);
  });

  it('finds replies sent to the bridge\'s MAC: an address-less bridge answers ARP for dom0\'s address', async () => {
    const mac = (await readState(createRunner(sb.dom0))).links.find((l) => l.name === 'xenbr0')?.mac;
    // apply turns ARP off on address-less bridges, so only dom0's veth answers...
    expect(await sb.inSw('arping -c 2 -w 2 -I sw0 192.0.2.10 || true')).not.toContain(`[${mac?.toUpperCase()}]`);
    // ...which is what a bridge made elsewhere (ifupdown, network-bridge) does not: there, both answer.
    await sb.ip('link set dev xenbr0 arp on');
    const asked = await sb.inSw('arping -c 2 -w 2 -I sw0 192.0.2.10 || true');
    expect(asked).toContain(`[${mac?.toUpperCase()}]`);
    // Whichever answer the switch kept, make it the bridge's, as happens when that answer comes first.
    await sb.inSw(`ip neigh replace 192.0.2.10 lladdr ${mac} nud reachable dev sw0`);
    try {
      const p = (await verify()).paths[0]!;
      expect([p.vanished?.hop, p.vanished?.dir, p.vanished?.after, p.diagnoses.map((d) => d.rule)]).toEqual(['xenbr0-d0', 'reply', 'peth0', ['reply-to-other-mac']]);
      expect(p.diagnoses[0]?.message).toContain(`the MAC of xenbr0, not eth0's`);
    } finally {
      await sb.ip('link set dev xenbr0 arp off');
      await settled();
    }
    expect((await verify()).ok).toBe(true);
  });

  it('the CLI: --listen tallies what passes and flags nothing on a healthy path; bad options are usage errors', async () => {
    const r = await cli(['verify', '--traffic', '--listen', '1', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
    const j = JSON.parse(r.stdout) as { ok: boolean; hops: { dev: string }[]; flags: unknown[] };
    expect([r.code, j.ok, j.hops.map((h) => h.dev).sort(), j.flags]).toEqual([0, true, ['eth0', 'peth0', 'xenbr0-d0'], []]);
    const bad = await cli(['verify', '--traffic', '--vlan', '5000', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'xenbridge: --vlan: "5000" is not a VLAN ID (1-4094) or "untagged"']);
    const alone = await cli(['verify', '--vif', 'vif1.0', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([alone.code, alone.stderr.trim()]).toEqual([2, 'xenbridge: --vlan, --vif, --pcap-dir and --discover go with --traffic']);
  });
});
