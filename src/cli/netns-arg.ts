/** --netns and XENBRIDGE_NETNS, checked the same way wherever they are read, before any file is touched; and the run directory they lead to. */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { XbError } from '../errors.js';
import { NETNS_RUN_DIR, netnsNameProblem } from '../model/netns-name.js';

/** The namespace name, or a usage error: a bad name, or a namespace that does not exist (nothing is created for it). */
export const checkedNetns = (name: string | undefined, from = '--netns'): string | undefined => {
  if (name === undefined) return undefined;
  const why = netnsNameProblem(name);
  if (why) throw new XbError('usage', `${from}: ${why}`);
  try {
    statSync(join(NETNS_RUN_DIR, name));
  } catch {
    throw new XbError('usage', `${from}: network namespace ${name} does not exist`, { detail: [`ip netns list shows the namespaces; ${NETNS_RUN_DIR}/${name} is missing`] });
  }
  return name;
};

/** For commander: `.option('--netns <name>', …, netnsOption)`. */
export const netnsOption = (value: string): string => checkedNetns(value) as string;

/**
 * The run directory of a scope must be ours alone before its files are believed or written: a
 * pending.json planted in a directory others can write would make a root command act on it.
 */
export const trustRunDir = (dir: string): string => {
  for (const d of [dirname(dir), dir]) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      throw new XbError('usage', `cannot read xenbridge's run directory ${d} (${code ?? 'error'})${code === 'EACCES' ? ': run as root' : ''}`);
    }
    const uid = process.getuid?.() ?? 0;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new XbError('state', `xenbridge's run directory ${d} is not a directory only this user can write: its files are not trusted`, {
        detail: [`it should be a directory owned by uid ${uid}, mode 0700; remove it or set XENBRIDGE_RUN_DIR elsewhere`],
      });
    }
  }
  return dir;
};
