/** A unified diff (diff -u style, 3 lines of context) of two small texts, for showing file changes. */

type Op = { kind: ' ' | '-' | '+'; line: string };

const splitLines = (text: string | undefined): string[] => {
  if (text === undefined || text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};

/** Longest-common-subsequence edit script; the files written here are a few dozen lines. */
const editScript = (a: string[], b: string[]): Op[] => {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++]! });
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push({ kind: '+', line: b[j++]! });
    else ops.push({ kind: '-', line: a[i++]! });
  }
  return ops;
};

const range = (start: number, count: number): string => (count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`);

/** Empty when the texts are equal; `before`/`after` undefined mean the file is created/removed. */
export const unifiedDiff = (path: string, before: string | undefined, after: string | undefined, context = 3): string => {
  if (before === after) return '';
  const ops = editScript(splitLines(before), splitLines(after));
  const changed = ops.map((o, k) => (o.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  const out = [`--- ${before === undefined ? '/dev/null' : `a${path}`}`, `+++ ${after === undefined ? '/dev/null' : `b${path}`}`];
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, changed[k]! - context);
    let to = Math.min(ops.length, changed[k]! + context + 1);
    while (k + 1 < changed.length && changed[k + 1]! - context <= to) to = Math.min(ops.length, changed[++k]! + context + 1);
    k++;
    const aStart = ops.slice(0, from).filter((o) => o.kind !== '+').length + 1;
    const bStart = ops.slice(0, from).filter((o) => o.kind !== '-').length + 1;
    const hunk = ops.slice(from, to);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`, ...hunk.map((o) => `${o.kind}${o.line}`));
  }
  return out.join('\n') + '\n';
};
