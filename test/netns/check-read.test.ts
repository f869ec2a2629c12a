/**
 * After its batch, apply reads the host again to check it. When that read fails, the change can be
 * neither verified nor left for a later run to settle (on a host it may have cut off from whoever
 * would run one): it is undone, as a change that does not match the file is.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

let sb: Sandbox;
let cfg: string;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TAKEOVER_ONLY));
}, 60_000);
afterAll(async () => {
  await sb.cleanup();
});

describe('a state read that fails after the batch', () => {
  it('has the change undone (exit 4, the host as before, nothing left interrupted); with ip whole, the change is made', async () => {
    const wrap = join(sb.runDir, 'wrap');
    const marks = join(sb.runDir, 'marks');
    mkdirSync(wrap);
    mkdirSync(marks);
    // An ip whose full state reads fail once the change's batch has run.
    writeFileSync(join(wrap, 'ip'), `#!/bin/sh
case "$*" in *"-batch /"*) touch ${marks}/batch ;; *"-j -d -batch -"*) [ -e ${marks}/batch ] && { echo "cannot read: out of memory" >&2; exit 1; } ;; esac
exec /usr/sbin/ip "$@"
`);
    chmodSync(join(wrap, 'ip'), 0o755);
    const before = await dump(sb.dom0);
    const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, PATH: `${wrap}:${sb.env.PATH}` });
    expect([r.code, r.stderr.split('\n').slice(0, 2)]).toEqual([4, ['xenbridge: apply ran but the host could not be read to check it; the host was restored', '  cannot read the network state: cannot read: out of memory']]);
    expect(await dump(sb.dom0)).toBe(before);
    const s = await cli(['status', '--netns', sb.dom0], sb.env);
    expect([s.code, s.stdout]).toEqual([0, 'nothing applied']);
    expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  }, 60_000);
});
