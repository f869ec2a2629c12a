/** Typed field readers that collect every problem (with file:line:col) instead of stopping at the first. */
import { shownAny, type Problem } from '../errors.js';
import { ifnameProblem, XEN_VIF_RE } from '../model/ifname.js';
import type { Path, Source } from './load.js';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const pathText = (path: Path): string =>
  path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

export class Checker {
  readonly problems: Problem[] = [];
  constructor(readonly src: Source) {}

  fail(path: Path, message: string, key = false): void {
    this.problems.push({ where: this.src.where(path, key), message });
  }

  where(path: Path): string {
    return this.src.where(path);
  }

  /** Reports keys the schema does not know; returns the object or undefined if it is not a mapping. */
  mapping(v: unknown, path: Path, allowed: readonly string[]): Obj | undefined {
    if (!isObj(v)) {
      this.fail(path, `${pathText(path) || 'the file'} must be a mapping`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown key "${k}" in ${pathText(path) || 'the top level'} (allowed: ${allowed.join(', ')})`, true);
    }
    return v;
  }

  list(o: Obj, key: string, path: Path): unknown[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.fail([...path, key], `${pathText([...path, key])} must be a list`);
      return [];
    }
    return v;
  }

  str(o: Obj, key: string, path: Path, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.fail(path, `${pathText(path)} needs "${key}"`);
      return undefined;
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.fail([...path, key], `${pathText([...path, key])} must be a string`);
      return undefined;
    }
    // A name written as a number (0x10, 1e3) is the text written, not the number YAML reads.
    return typeof v === 'number' ? this.src.raw([...path, key]) ?? String(v) : v;
  }

  ifname(o: Obj, key: string, path: Path, required = false): string | undefined {
    const v = this.str(o, key, path, required);
    if (v === undefined) return undefined;
    // vif0.N is domain 0's: network-bridge named dom0's veth so, and netback never makes one.
    const guests = XEN_VIF_RE.test(v) && !v.startsWith('vif0.');
    const why = ifnameProblem(v) ?? (guests ? `interface name "${v}" is the name Xen gives a guest's vif` : undefined);
    if (why) {
      this.fail([...path, key], `${pathText([...path, key])}: ${why}`);
      return undefined;
    }
    return v;
  }

  int(o: Obj, key: string, path: Path, min: number, max: number, what: string, required = false): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.fail(path, `${pathText(path)} needs "${key}"`);
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail([...path, key], `${pathText([...path, key])}: ${what} must be an integer from ${min} to ${max}, got ${shownAny(v)}`);
      return undefined;
    }
    return this.decimal([...path, key], what) ? v : undefined;
  }

  /** YAML reads 1e3, 0x10, 0o12, 10.0 and +10 as integers; a topology writes integers as integers. */
  decimal(path: Path, what: string): boolean {
    const raw = this.src.raw(path);
    if (raw === undefined || /^(0|[1-9][0-9]*)$/.test(raw)) return true;
    this.fail(path, `${pathText(path)}: ${what} must be written as a decimal integer, got ${raw}`);
    return false;
  }

  bool(o: Obj, key: string, path: Path, dflt: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      this.fail([...path, key], `${pathText([...path, key])} must be true or false, got ${shownAny(v)}`);
      return dflt;
    }
    return v;
  }
}
