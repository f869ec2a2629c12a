import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addGuard, delGuard } from '../../src/plan/steps-guard.js';
import {
  addAddr, addBridge, addRoute, addVeth, addVlan, addVlanEntry, delLink, delRoute, delVlan, delVlanEntry, setSysctl, rename, setArp, setBridge, setMac, setMaster, setMtu, setUp,
} from '../../src/plan/steps.js';
import { opText } from '../../src/plan/render.js';
import type { Link } from '../../src/state/types.js';
import { HISTORY, JOURNAL, ON_DEMAND } from '../../src/txn/records.js';
import { readRecord, writeRecord } from '../../src/txn/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-records-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const f = (): string => join(dir, 'r.json');
const steps = [rename('eth0', 'peth0'), addVeth('eth0', { peer: 'xenbr0-d0' })];
const link: Link = { ifindex: 7, name: 'eth0', kind: 'device', kindName: 'device', up: true, noarp: false, operstate: 'UP', carrier: true, mtu: 1500, mac: '52:54:00:00:00:01', peerElsewhere: false, addrs: [] };

describe('records of the run directory', () => {
  it('are written with a version and read back as written', () => {
    writeRecord(f(), { started: 'then', steps });
    expect(JSON.parse(readFileSync(f(), 'utf8')).version).toBe(2);
    expect(readRecord(f(), HISTORY)).toEqual({ started: 'then', steps });
  });

  it('a journal of a vif batch of 1024 vifs with long names is read', () => {
    const what = `vif ${Array.from({ length: 1024 }, (_, i) => `guest-web-${String(i).padStart(4, '0')}`).join(' ')}`;
    writeFileSync(f(), JSON.stringify({ version: 2, pid: 1, started: 's', what, steps, done: 0, inflight: [0, 2], batch: '/run/xenbridge/host/batch-0' }));
    expect(readRecord(f(), JOURNAL)?.what).toBe(what);
  });

  it('none is undefined; fields a record does not have are dropped', () => {
    expect(readRecord(f(), HISTORY)).toBeUndefined();
    writeFileSync(f(), JSON.stringify({ version: 2, started: 'then', steps, extra: 'x' }));
    expect(readRecord(f(), HISTORY)).toEqual({ started: 'then', steps });
  });

  it.each([
    ['a journal whose done is past its steps', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 3 }, 'done is past the last step'],
    ['a journal with an inverted in-flight range', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 0, inflight: [2, 1] }, 'inflight should be [from, to]'],
    ['a journal whose in-flight batch ends past its steps', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 0, inflight: [0, 99] }, 'inflight is outside the steps'],
    ['a journal whose in-flight batch starts before its done steps', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 2, inflight: [0, 2] }, 'inflight is outside the steps'],
    ['a journal whose batch record is a file elsewhere', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 0, inflight: [0, 1], batch: '/etc/passwd' }, 'batch is not a batch record of the run directory'],
    ['a journal whose batch record is another file of the run directory', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps, done: 0, inflight: [0, 1], batch: '/run/xenbridge/host/history.json' }, 'batch is not a batch record of the run directory'],
    ['a journal whose what holds an escape', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply\u001b[2K', steps, done: 0 }, 'what should be one line of printable text'],
    ['an op of an unknown kind', HISTORY, { version: 2, started: 's', steps: [{ ...steps[0], op: { kind: 'shell', line: 'reboot' } }] }, 'steps[0].op.kind: unknown op "shell"'],
    ['an op without its kind', HISTORY, { version: 2, started: 's', steps: [{ ...steps[0], op: { from: 'eth0', to: 'peth0' } }] }, 'steps[0].op.kind should be text, not missing'],
    ['an undo op with a bad field', HISTORY, { version: 2, started: 's', steps: [{ ...steps[0], undo: [{ kind: 'setMtu', dev: 'eth0', mtu: '9000', was: 1500 }] }] }, 'steps[0].undo[0].mtu should be a whole number, not text'],
    ['an IPv6 setting xenbridge never writes', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps: [{ op: { kind: 'setSysctl', dev: 'eth0', key: 'disable_ipv6', value: 1, was: 0 }, undo: [] }], done: 0 }, 'steps[0].op.key should be one of'],
    ['a name that would split a batch line', JOURNAL, { version: 2, pid: 1, started: 's', what: 'apply', steps: [{ op: { kind: 'delLink', dev: 'x\nlink del dev eth0' }, undo: [] }], done: 0 }, 'steps[0].op.dev should be one word, not "x\\u000alink del dev eth0"'],
    ['a list', HISTORY, [], 'the file should be a mapping, not a list'],
    ['version 0', HISTORY, { version: 0, started: 's', steps }, 'unknown record version 0'],
    ['a journal of version 1', JOURNAL, { version: 1, pid: 1, started: 's', what: 'apply', steps: [], done: 0 }, 'it was written by an older xenbridge (record version 1; this one reads versions 2 to 2)'],
    ['a future version', JOURNAL, { version: 3, pid: 1, started: 's', what: 'apply', steps: [], done: 0 }, 'it was written by a newer xenbridge (record version 3; this one reads up to 2)'],
  ])('%s is refused, naming the file and the field', (_n, kind, value, why) => {
    writeFileSync(f(), JSON.stringify(value));
    expect(() => readRecord(f(), kind as typeof JOURNAL)).toThrow(`${f()} (the ${kind.what}) cannot be read: ${why}`);
  });

  it('a history, pending change or on-demand record of version 1 (batch lines) keeps its lines, run as written', () => {
    const v1 = [{ tool: 'ip', line: 'link set dev eth0 name peth0', undo: [{ tool: 'ip', line: 'link set dev peth0 name eth0' }] }];
    const kept = [{ op: { kind: 'line', tool: 'ip', line: 'link set dev eth0 name peth0' }, undo: [{ kind: 'line', tool: 'ip', line: 'link set dev peth0 name eth0' }] }];
    writeFileSync(f(), JSON.stringify({ version: 1, started: 's', steps: v1 }));
    const h = readRecord(f(), HISTORY);
    expect(h).toEqual({ started: 's', steps: kept });
    expect(h?.steps.flatMap((s) => [s.op, ...s.undo]).map(opText)).toEqual(['ip link set dev eth0 name peth0', 'ip link set dev peth0 name eth0']);
    writeFileSync(f(), JSON.stringify({ 'xenbr0.10': v1 }));
    expect(readRecord(f(), ON_DEMAND)).toEqual({ bridges: { 'xenbr0.10': kept } });
    writeFileSync(f(), JSON.stringify({ version: 1, bridges: { 'xenbr0.10': v1 }, committed: 'c' }));
    expect(readRecord(f(), ON_DEMAND)).toEqual({ bridges: { 'xenbr0.10': kept }, committed: 'c' });
    writeFileSync(f(), '{}');
    expect(readRecord(f(), ON_DEMAND)).toEqual({ bridges: {} });
    writeFileSync(f(), JSON.stringify({ version: 1, started: 's', steps: [{ ...v1[0], line: 'link del dev x\nreboot' }] }));
    expect(() => readRecord(f(), HISTORY)).toThrow('steps[0].op.line should be one line');
  });

  it('every op kind the planners make is read back as written', () => {
    const all = [
      addBridge('xenbr0', { stp: true, forwardDelay: 400, vlanFiltering: true, mac: '02:00:00:00:00:01', mtu: 9000 }),
      setBridge('xenbr0', { stp: false, forwardDelay: 400, vlanFiltering: false }, { stp: true, forwardDelay: 400, vlanFiltering: true }),
      addVlan('eth0.10', { parent: 'eth0', id: 10 }), delVlan({ ...link, kind: 'vlan', name: 'eth0.10', link: 'eth0', vlanId: 10, master: 'xenbr0v10' }), delLink('x'),
      setUp('eth0', true), setArp('xenbr0', false), setMaster('peth0', 'xenbr0', undefined), setMtu('eth0', 9000, 1500), setMac('peth0', 'fe:ff:ff:ff:ff:ff', '52:54:00:00:00:01'),
      addAddr({ family: 4, local: '192.0.2.1', prefixlen: 24, broadcast: '192.0.2.255', scope: 'global', label: 'eth0:a', flags: ['noprefixroute'], managed: false }, 'eth0'),
      delRoute({ family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: 'ra', metric: 1024, onlink: false }),
      addRoute({ family: 4, dst: 'default', gateway: '192.0.2.254', onlink: true }, 'eth0'),
      setSysctl('eth0', 'autoconf', 1, 0),
      addVlanEntry({ dev: 'peth0', vid: 100, vidEnd: 199, pvid: false, untagged: false }), delVlanEntry({ dev: 'vif1.0', vid: 1, pvid: true, untagged: true }),
      addGuard({ dev: 'vif1.0', mac: '00:16:3e:00:00:01', ips: ['192.0.2.5'], vlans: { untagged: true, tagged: [{ start: 10, end: 20 }] } }), delGuard({ dev: 'vif1.0', mac: '00:16:3e:00:00:01' }),
    ];
    writeRecord(f(), { started: 'then', steps: all });
    expect(readRecord(f(), HISTORY)).toEqual({ started: 'then', steps: all });
  });
});
