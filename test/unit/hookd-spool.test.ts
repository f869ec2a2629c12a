import { execaSync } from 'execa';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeReply, formatRequest, listSpool, parseRequest, replyLine } from '../../src/xen/hookd-spool.js';

const ev = { argv: ['online', 'type_if=vif'], env: { vif: 'vif3.1', XENBUS_PATH: 'backend/vif/3/1' } };

describe('the hook service spool', () => {
  it('reads back what the hook writes, byte for byte as its printf does', () => {
    const text = execaSync('sh', ['-c', 'printf \'%s\\n\' xbhook1 "$#" "$@" "${vif-}" "${INTERFACE-}" "${XENBUS_PATH-}" end', 'sh', ...ev.argv], {
      env: { vif: 'vif3.1', XENBUS_PATH: 'backend/vif/3/1' }, extendEnv: false, stripFinalNewline: false,
    }).stdout;
    expect(text).toBe(formatRequest(ev));
    expect(parseRequest('0b7c-11', text)).toEqual({ id: '0b7c-11', ...ev, env: { ...ev.env, INTERFACE: undefined } });
  });

  it.each([
    ['half written', 'xbhook1\n2\nonline\ntype_if=vif\nvif3.1\n', undefined],
    ['not a request', 'hello\n0\n\n\n\nend\n', 'not a hook request (first line "hello")'],
    ['a value with a newline', formatRequest({ argv: ['online', 'type_if=vif'], env: { vif: 'vif3.1\nXENBUS_PATH=x' } }), 'malformed hook request (an argument or variable with a newline?)'],
    ['an argument count that lies', 'xbhook1\n5\nonline\n\n\n\nend\n', 'malformed hook request (an argument or variable with a newline?)'],
    ['no argument count', 'xbhook1\nx\n\n\n\nend\n', 'malformed hook request (an argument or variable with a newline?)'],
  ])('%s', (_what, text, want) => {
    expect(parseRequest('0b7c-11', text)).toEqual(want);
  });

  it('a reply prints back exactly through the hook\'s printf %b, whatever its text holds', () => {
    const text = 'vif-xenbridge: domain 3: vif3.1 online: "a\\b" 100% \\c \\0101\nxenbridge: second line\n  detail';
    const printed = execaSync('sh', ['-c', 'printf \'%b\\n\' "$1"', 'sh', escapeReply(text)], { stripFinalNewline: false }).stdout;
    expect(printed).toBe(`${text}\n`);
  });

  it('a long reply is cut to one pipe write (4000 bytes) without splitting an escape or a character', () => {
    for (let k = 3990; k < 4002; k++) {
      for (const tail of ['\\\\\\', 'ééé', '\n\n\n', '€\\€']) {
        const text = `${'x'.repeat(k)}${tail}${'y'.repeat(50)}`;
        const line = replyLine(1, text);
        expect(Buffer.byteLength(line), `${k}`).toBeLessThanOrEqual(4001);
        expect(line.endsWith('\n') && !line.includes('\uFFFD')).toBe(true);
        const printed = execaSync('sh', ['-c', 'printf \'%b\' "$1"', 'sh', line.slice(0, -1)], { stripFinalNewline: false }).stdout;
        expect(`1 ${text}`.startsWith(printed), `${k} ${JSON.stringify(tail)}`).toBe(true);
      }
    }
  });

  it('lists the requests in the order their hooks wrote them, not by name or directory order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenbridge-spool-'));
    try {
      // Made in one order, written (mtime) in another: the names are random UUIDs.
      const wrote = { cccccccc: 2, aaaaaaaa: 3, bbbbbbbb: 1 };
      for (const [id, s] of Object.entries(wrote)) {
        writeFileSync(join(dir, `${id}.req`), '');
        utimesSync(join(dir, `${id}.req`), 1_700_000_000 + s, 1_700_000_000 + s);
      }
      writeFileSync(join(dir, 'dddddddd.work'), '');
      expect(listSpool(dir, '.req')).toEqual(['bbbbbbbb', 'cccccccc', 'aaaaaaaa']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
