// `xenbridge --version`, started by bin/xenbridge: CommonJS, which node starts faster than an ES
// module, and package.json is all it reads. A command loads only what it uses.
'use strict';
const fs = require('node:fs');
const text = `${JSON.parse(fs.readFileSync(`${__dirname}/../package.json`, 'utf8')).version}\n`;
for (let tries = 0; ; tries++) {
  try {
    fs.writeSync(1, text);
    break;
  } catch (e) {
    // A non-blocking descriptor a parent handed down: wait a millisecond. A reader gone (`| head`)
    // is no failure; anything else (a file on a full disk) is, in one line, as for every command.
    if (e.code === 'EAGAIN' && tries < 10000) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      continue;
    }
    if (e.code !== 'EPIPE') {
      try {
        fs.writeSync(2, `xenbridge: cannot write the output to standard output: ${e.code === 'ENOSPC' ? 'no space left' : e.code}\n`);
      } catch {
        // the exit code says it
      }
      process.exitCode = 1;
    }
    break;
  }
}
