/**
 * A value from outside (xenstore, a file, a flag, the environment) as an error or a log line shows
 * it: quoted, every character outside printable ASCII escaped (a raw CR, ESC or line separator in
 * a log would let the value forge or hide lines), and cut after SHOWN_MAX characters (an error
 * line goes to xenstore's hotplug-error, whose payload is 4096 bytes at most).
 */
export const SHOWN_MAX = 64;

const escapeChar = (c: string): string => {
  if (c === '"' || c === '\\') return `\\${c}`;
  const code = c.charCodeAt(0);
  return code >= 0x20 && code <= 0x7e ? c : `\\u${code.toString(16).padStart(4, '0')}`;
};

export const shown = (value: string, max = SHOWN_MAX): string => {
  const body = value.slice(0, max).replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, escapeChar);
  return value.length > max ? `"${body}"... (${value.length} characters)` : `"${body}"`;
};
