/**
 * The CLI as a V8 startup snapshot: every module a command may load is evaluated once, when the
 * snapshot is built, and a run starts from that heap instead of compiling and linking the bundle.
 */
import { startupSnapshot } from 'node:v8';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { addVersion } from './program.js';
import { prepare, runCli } from './run.js';
import '../apply/apply.js';
import '../apply/revert.js';
import '../apply/guard-check.js';
import '../config/cache.js';
import '../plan/format.js';
import '../state/read.js';
import '../verify/state.js';
import '../show/guards.js';
import '../show/model.js';
import '../show/render.js';
import '../names/match.js';
import './optional-topology.js';
import { warm } from './snapshot-warm.js';

declare const globalThis: { __xbModuleUrl?: string };

const realMain = (p: string): string => {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
};

// Building the command tree costs a small command about as much as its own work under emulation.
const prepared = prepare(false);

// V8 compiles a function when it is first called, and a snapshot keeps what was compiled: called
// once here, the YAML parser, the validation and the planner start compiled. Before, a changed
// file's parse alone took 0.6 s of a 2.2 s apply in the VM bed.
warm();

startupSnapshot.setDeserializeMainFunction(() => {
  // The bundle this snapshot was made from: what the code finds relative to itself (package.json,
  // bin/). Its real path, as Node's loader gives a module's import.meta.url: `install` and the revert
  // timer name the same bin/xenbridge with the snapshot as without (through a symlinked directory too).
  globalThis.__xbModuleUrl = pathToFileURL(realMain(process.argv[1] ?? '')).href;
  addVersion(prepared.program);
  void runCli(process.argv, prepared).then((c) => {
    process.exitCode = c;
  });
});
