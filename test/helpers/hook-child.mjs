// The vif hook's CLI entry (dist/cli/vif-main.js) in a process that has already loaded it and
// starts the event when told ("go" on stdin): a kill -9 can then land anywhere in the event, not
// in node's start-up, which under emulation takes seconds. It prints "go" back once started.
import { main } from '../../dist/cli/vif-main.js';

process.stdin.once('data', () => {
  process.stdout.write('go\n');
  void main(process.argv.slice(2)).then((code) => process.exit(code));
});
process.stdout.write('ready\n');
