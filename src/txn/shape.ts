/**
 * Checks the shape of records read back from the run directory. A record is trusted only after it
 * has been checked: a crash, a full disk or a careless edit can leave anything there.
 */
export class ShapeError extends Error {}

export type Check<T> = (v: unknown, at: string) => T;

const NAMES: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'a mapping' };

const fail = (at: string, want: string, v: unknown): never => {
  const got = v === undefined ? 'missing' : v === null ? 'null' : Array.isArray(v) ? 'a list' : NAMES[typeof v] ?? typeof v;
  throw new ShapeError(`${at || 'the file'} should be ${want}, not ${got}`);
};

export const str: Check<string> = (v, at) => (typeof v === 'string' ? v : fail(at, 'text', v));
export const int: Check<number> = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(at, 'a whole number', v));
export const bool: Check<boolean> = (v, at) => (typeof v === 'boolean' ? v : fail(at, 'true or false', v));

export const oneOf = <T extends string>(...allowed: T[]): Check<T> => (v, at) =>
  typeof v === 'string' && (allowed as string[]).includes(v) ? (v as T) : fail(at, `one of ${allowed.join(', ')}`, v);

export const list = <T>(item: Check<T>): Check<T[]> => (v, at) => (Array.isArray(v) ? v.map((x, i) => item(x, `${at}[${i}]`)) : fail(at, 'a list', v));

export const record = <T>(item: Check<T>): Check<Record<string, T>> => (v, at) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(at, 'a mapping', v);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, item(x, `${at}.${k}`)]));
};

export const optional = <T>(c: Check<T>): Check<T | undefined> => (v, at) => (v === undefined ? undefined : c(v, at));

type Fields = Record<string, Check<unknown>>;
type Out<F extends Fields> = { [K in keyof F]: ReturnType<F[K]> };

/** An object with these fields; other fields are dropped, so nothing unchecked passes through. */
export const object = <F extends Fields>(fields: F): Check<Out<F>> => {
  // Listed once, not at every call: a history holds thousands of steps, each a few objects deep.
  const entries = Object.entries(fields);
  return (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(at, 'a mapping', v);
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, c] of entries) {
      const x = c(o[k], at ? `${at}.${k}` : k);
      if (x !== undefined) out[k] = x;
    }
    return out as Out<F>;
  };
};
