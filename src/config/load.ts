/** Reads a topology file into a YAML document that can say where each value was written. */
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { XbError, type Problem } from '../errors.js';

export type Path = (string | number)[];

export interface Source {
  file: string;
  data: unknown;
  /** "file:line:col" of the value at path (of its key with key=true), or of the nearest enclosing node. */
  where(path: Path, key?: boolean): string;
  /** Whether the file itself holds a value at path (not a default). */
  has(path: Path): boolean;
}

const childOf = (node: unknown, seg: string | number, wantKey: boolean): Node | undefined => {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
    if (!pair) return undefined;
    return (wantKey ? pair.key : pair.value ?? pair.key) as Node | undefined;
  }
  if (isSeq(node) && typeof seg === 'number') return node.items[seg] as Node | undefined;
  return undefined;
};

const makeWhere = (file: string, doc: Document, lines: LineCounter) => (path: Path, key = false): string => {
  let node: Node | undefined = doc.contents ?? undefined;
  let found = node;
  path.forEach((seg, i) => {
    node = node === undefined ? undefined : childOf(node, seg, key && i === path.length - 1);
    if (node !== undefined) found = node;
  });
  const offset = found?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return `${file}:${pos.line}:${pos.col}`;
};

export const parseSource = (text: string, file: string): Source => {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { where: `${file}:${pos.line}:${pos.col}`, message: e.message.split('\n')[0] ?? e.message };
    });
    throw new XbError('config', `${file} is not valid YAML`, { problems });
  }
  const has = (path: Path): boolean => path.reduce<unknown>((n, seg) => (n === undefined ? undefined : childOf(n, seg, false)), doc.contents ?? undefined) !== undefined;
  return { file, data: doc.toJS(), where: makeWhere(file, doc, lines), has };
};

export const loadSource = (file: string): Source => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new XbError('config', `cannot read topology file ${file}${code ? ` (${code})` : ''}`, {
      detail: ['give the file with -c FILE or XENBRIDGE_CONFIG; the default is /etc/xenbridge/topology.yaml'],
      cause: e,
    });
  }
  return parseSource(text, file);
};
