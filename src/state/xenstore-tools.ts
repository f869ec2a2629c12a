/**
 * What Xen's xenstore-read prints and xenstore-write takes: both escape a value's backslashes and
 * unprintable bytes (xenstore_client.c, sanitise_value and unsanitise_value), so that a value is
 * one line. Undone here, a value read through the tools is the bytes xenstored holds, as over its
 * socket; escaped here, a value written through the tools is stored as given.
 */

const NAMED: Record<string, number> = { t: 9, n: 10, r: 13, '\\': 92 };

/** One value as xenstore-read printed it (without its line's newline), decoded to its text. */
export const fromToolValue = (printed: string): string => {
  if (!printed.includes('\\')) return printed;
  const chars = Array.from(printed);
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const after = chars.slice(i + 1, i + 4).join('');
    const named = NAMED[after[0] ?? ''];
    if (named !== undefined) {
      bytes.push(named);
      i += 1;
    } else if (/^x[0-9a-fA-F]{2}$/.test(after)) {
      bytes.push(parseInt(after.slice(1), 16));
      i += 3;
    } else if (/^[0-7]{3}$/.test(after)) {
      bytes.push(parseInt(after, 8));
      i += 3;
    } else {
      // What sanitise_value never prints: kept as it stands.
      bytes.push(92);
    }
  }
  return Buffer.from(bytes).toString('utf8');
};

/** A value for xenstore-write's argument list: its backslashes doubled, so the tool stores it as given. */
export const toToolValue = (value: string): string => value.replace(/\\/g, '\\\\');
