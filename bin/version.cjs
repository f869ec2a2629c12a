// `xenbridge --version`, started by bin/xenbridge: CommonJS, which node starts faster than an ES
// module, and package.json is all it reads. A command loads only what it uses.
'use strict';
process.stdout.write(`${JSON.parse(require('node:fs').readFileSync(`${__dirname}/../package.json`, 'utf8')).version}\n`);
