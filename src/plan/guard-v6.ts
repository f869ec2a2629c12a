/** IPv6 addresses in a guard's rules: raw payload matches (nft 1.0.6 has no icmpv6 taddr) and link-local addresses. */

/** The 128 bits of an IPv6 address as a bigint. */
const v6Bits = (addr: string): bigint => {
  const [head = '', tail] = addr.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap((g) => {
    if (!g.includes('.')) return [g];
    const b = g.split('.').map(Number);
    return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
  }));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  return BigInt(`0x${[...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0')).join('')}`);
};

/** Whether an ip= entry (address or prefix) lies in fe80::/10. */
export const isLinkLocal = (entry: string): boolean => v6Bits(entry.split('/')[0] ?? '') >> 118n === 0x3fan;

/** The modified EUI-64 link-local address a MAC gives (RFC 4291 appendix A): the kernel's default. */
export const eui64LinkLocal = (mac: string): string => {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  // Groups 5 and 6 hold ff and fe, never 0: only the fourth can join the zeros that :: stands for.
  const head = hex(b[0]! ^ 2, b[1]!);
  return `fe80::${head === '0' ? '' : `${head}:`}${hex(b[2]!, 0xff)}:${hex(0xfe, b[3]!)}:${hex(b[4]!, b[5]!)}`;
};

/**
 * An address or prefix (A/len) of xenstore ip as a raw payload match at bit `at` (nft 1.0.6 has no
 * icmpv6 taddr): the prefix's first len bits, so a /64 in ip= covers every address in it.
 */
export const v6Raw = (entry: string, at: number): string => {
  const [addr = '', len = '128'] = entry.split('/');
  const bits = Number(len);
  const value = v6Bits(addr) >> BigInt(128 - bits);
  return `@th,${at},${bits} ${`0x${value.toString(16).padStart(Math.ceil(bits / 4), '0')}`}`;
};
