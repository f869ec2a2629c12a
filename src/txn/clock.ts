/**
 * A pending change's deadline on the clock of this boot: the wall clock can be stepped (NTP, an
 * admin's date -s), and a revert measured on it would come an hour late after a step back, with
 * status saying 0 s left. CLOCK_MONOTONIC is the same for every process of a boot; the boot id
 * says whether a record was written in this one (a run directory can outlive a boot).
 */
import { bootId } from '../state/processes.js';

export interface Due {
  boot: string;
  /** CLOCK_MONOTONIC, in ms. */
  ms: number;
}

let boot: string | undefined;
const thisBoot = (): string => (boot ??= bootId() ?? '');

/** CLOCK_MONOTONIC in ms; process.hrtime, not performance.now(): the global `performance` loads Node's perf_hooks on first use. */
export const monoMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export const dueIn = (seconds: number): Due => ({ boot: thisBoot(), ms: monoMs() + seconds * 1000 });

/** Milliseconds to the deadline: on this boot's clock when it was set in this boot, else on the wall clock. */
export const msLeft = (p: { deadline: string; due?: Due }, wallNow: number): number =>
  p.due !== undefined && p.due.boot !== '' && p.due.boot === thisBoot() ? p.due.ms - monoMs() : Date.parse(p.deadline) - wallNow;
