// Values through Xen's xenstore tools: xenstore-read prints each escaped onto one line and
// xenstore-write unescapes its arguments (xenstore_client.c); undone and done here, a value is
// the same bytes as over xenstored's socket.
import { describe, expect, it } from 'vitest';
import { fromToolValue, toToolValue } from '../../src/state/xenstore-tools.js';

describe('xenstore tool values', () => {
  it.each([
    ['plain', 'plain'],
    ['x\\ny', 'x\ny'],
    ['tab\\there\\rcr', 'tab\there\rcr'],
    ['a\\\\b', 'a\\b'],
    ['\\\\n is not a newline', '\\n is not a newline'],
    ['\\001\\007', '\x01\x07'],
    ['\\x7f\\x1b', '\x7f\x1b'],
    ['caf\\xc3\\xa9', 'café'],
    ['trailing \\', 'trailing \\'],
    ['\\q kept', '\\q kept'],
    ['', ''],
  ])('xenstore-read printed %j: the value is %j', (printed, value) => {
    expect(fromToolValue(printed)).toBe(value);
  });

  it.each([
    ['xenbr0', 'xenbr0'],
    ['C:\\path\\n', 'C:\\\\path\\\\n'],
    ['two\nlines', 'two\nlines'],
  ])('%j goes to xenstore-write as %j', (value, arg) => {
    expect(toToolValue(value)).toBe(arg);
  });
});
