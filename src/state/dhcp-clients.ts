/** This scope's DHCP clients, from the pid files their batch keeps under the run directory. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const dhcpDir = (runDir: string): string => join(runDir, 'dhcp');

const PIDFILE = /^(.+)-4\.pid$/;

/** A pid file counts only while it names a running dhcpcd: a stale one (a killed client, a reused pid) does not. */
const running = (pidFile: string): boolean => {
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    return /^[1-9][0-9]*$/.test(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dhcpcd';
  } catch {
    return false;
  }
};

export const readDhcpClients = (runDir: string): { dir: string; running: string[] } => {
  const dir = dhcpDir(runDir);
  let names: string[];
  try {
    names = readdirSync(join(dir, 'run'));
  } catch {
    names = [];
  }
  const ifs = names.flatMap((n) => PIDFILE.exec(n)?.[1] ?? []).filter((i) => running(join(dir, 'run', `${i}-4.pid`)));
  return { dir, running: ifs.sort() };
};
