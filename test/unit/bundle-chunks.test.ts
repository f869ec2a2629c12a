// What a checkout's build removes from dist/cli before bundling again: only the chunks esbuild named.
import { expect, it } from 'vitest';
import { isChunk } from '../../src/package/bundle.js';

it("takes esbuild's named chunks for chunks, and none of tsc's modules or the entries", () => {
  const names = ['apply-2C4VI3N4.js', 'chunk-UQ5YBJ4R.js', 'snapshot-build-7E3QEVC6.js', 'main.js', 'vif-main.js', 'snapshot-build.js',
    'hookd-main.js', 'hookd-main.d.ts', 'snapshot.cjs', 'snapshot.id', 'snapshot', 'apply-2C4VI3N4.js.map', 'Apply-2C4VI3N4.js', 'apply-2c4vi3n4.js'];
  expect(names.filter(isChunk)).toEqual(['apply-2C4VI3N4.js', 'chunk-UQ5YBJ4R.js', 'snapshot-build-7E3QEVC6.js']);
});
