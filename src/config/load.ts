/** Reads a topology file into a YAML document that can say where each value was written. */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { XbError, type Problem } from '../errors.js';
import { readTopologyText } from './read-file.js';

export type Path = (string | number)[];

export interface Source {
  file: string;
  data: unknown;
  /** "file:line:col" of the value at path (of its key with key=true), or of the nearest enclosing node. */
  where(path: Path, key?: boolean): string;
  /** Whether the file itself holds a value at path (not a default). */
  has(path: Path): boolean;
  /** The text of the plain scalar at path as written (1e3, 0x10, +10), or undefined. */
  raw(path: Path): string | undefined;
}

/** Aliases a topology may use: enough to share a block, far too few to expand into a bomb. */
export const MAX_ALIASES = 64;

const childOf = (node: unknown, seg: string | number, wantKey: boolean): Node | undefined => {
  if (isMap(node)) {
    // toJS makes a key written true, 1 or null the text 'true', '1', '': the path names it so.
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && (p.key.value === seg || String(p.key.value ?? '') === String(seg)));
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

const nodeAt = (doc: Document, path: Path): unknown =>
  path.reduce<unknown>((n, seg) => (n === undefined ? undefined : childOf(n, seg, false)), doc.contents ?? undefined);

/**
 * Aliases to no anchor, more aliases than a topology needs, and keys that are not plain values
 * (`? [a]`, which toJS would turn into text, with a warning of node's on stderr), each where it
 * was written.
 */
const structureProblems = (doc: Document, at: (offset: number) => string): Problem[] => {
  const problems: Problem[] = [];
  let count = 0;
  visit(doc, {
    Pair(_k, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        problems.push({ where: at((pair.key as Node).range?.[0] ?? 0), message: isAlias(pair.key) ? 'a key must be written out, not an alias' : 'a key must be a plain value, not a list or a mapping' });
      }
    },
    Alias(_k, node) {
      count += 1;
      const where = at(node.range?.[0] ?? 0);
      if (node.resolve(doc) === undefined) problems.push({ where, message: `alias *${node.source} refers to no anchor defined before it` });
      else if (count === MAX_ALIASES + 1) problems.push({ where, message: `more than ${MAX_ALIASES} aliases: a topology needs far fewer` });
    },
  });
  return problems;
};

export const parseSource = (text: string, file: string): Source => {
  const lines = new LineCounter();
  const at = (offset: number): string => {
    const pos = lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [...doc.errors, ...doc.warnings].map((e) => ({ where: at(e.pos[0]), message: e.message.split('\n')[0] ?? e.message }));
  if (problems.length === 0) problems.push(...structureProblems(doc, at));
  let data: unknown;
  if (problems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push({ where: at(0), message: `cannot expand the document: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  if (problems.length > 0) throw new XbError('config', `${file} is not valid YAML`, { problems });
  const has = (path: Path): boolean => nodeAt(doc, path) !== undefined;
  const raw = (path: Path): string | undefined => {
    const n = nodeAt(doc, path);
    return isScalar(n) && typeof n.source === 'string' ? n.source : undefined;
  };
  return { file, data, where: makeWhere(file, doc, lines), has, raw };
};

export const loadSource = (file: string): Source => parseSource(readTopologyText(file), file);
