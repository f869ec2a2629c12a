/**
 * Network namespace names as every command and the hook accept them: a name under /run/netns that
 * is also a safe path component of xenbridge's run directory (never `.`, `..` or a `/`).
 */
import { shown } from '../errors.js';

export const NETNS_RUN_DIR = '/run/netns';

/** Why a namespace name is unusable, or undefined. */
export const netnsNameProblem = (name: string): string | undefined => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    return `${shown(name)} is not a network namespace name (1-64 of A-Z a-z 0-9 _ . -, not starting with . or -)`;
  }
  return undefined;
};
