/** This scope's DHCP clients, from the pid files their batch keeps under the run directory. */
import { namesIn, readRecordText } from '../exec/files.js';
import { join } from 'node:path';
import { running } from './processes.js';

export const dhcpDir = (runDir: string): string => join(runDir, 'dhcp');

/** dhcpcd -4 and -6 keep IF-4.pid and IF-6.pid. */
const pidFile = (fam: 4 | 6): RegExp => new RegExp(`^(.+)-${fam}\\.pid$`);

/** A pid file counts only while it names a running dhcpcd: a stale one (a killed client, a reused pid, an exited one not yet reaped) does not. */
const clientRuns = (pidFile: string): boolean => {
  try {
    return running((readRecordText(pidFile) ?? '').trim(), 'dhcpcd');
  } catch {
    return false;
  }
};

export const readDhcpClients = (runDir: string): { dir: string; running: string[]; running6: string[] } => {
  const dir = dhcpDir(runDir);
  const names = namesIn(join(dir, 'run'));
  const ifs = (fam: 4 | 6): string[] => names.flatMap((n) => pidFile(fam).exec(n)?.[1] ?? []).filter((i) => clientRuns(join(dir, 'run', `${i}-${fam}.pid`))).sort();
  return { dir, running: ifs(4), running6: ifs(6) };
};
