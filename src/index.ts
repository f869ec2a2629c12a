/** The xenbridge library: config -> validated model -> current state -> plan -> apply -> verify. */
export { XbError, EXIT_CODES, isXbError, type ErrorKind, type Problem } from './errors.js';
export { loadTopology, parseTopology } from './config/validate.js';
export type { Topology, BridgeSpec, VlanSpec, Dom0Spec, NameRule, VidRange } from './model/topology.js';
export { createRunner, type Runner } from './exec/runner.js';
export { readState } from './state/read.js';
export type { HostState, Link, Addr, Route, VlanEntry } from './state/types.js';
export { makePlan, type Plan } from './plan/diff.js';
export { planText, planJson, planSh } from './plan/format.js';
export { applyTopology, planTopology, stopNetwork, readStatus, rollbackInterrupted, type ApplyResult, type Status } from './apply/apply.js';
export { verifyTopology, verifyState, type VerifyReport } from './verify/state.js';
export { lint, type Finding } from './verify/lint.js';
export { showModel, type Shown } from './show/model.js';
export { renderTree, renderTopologyYaml } from './show/render.js';
export { rollbackNow, confirmChange, revertWhenDue, type Reverted, type RollbackResult } from './apply/revert.js';
export { pendingStatus, type Pending, type PendingStatus } from './apply/pending.js';
export type { ApplyOptions } from './apply/apply.js';
export { install, type InstallOptions, type Installed } from './install/install.js';
export { serviceUnit, vifHook, withDefaultScript, SAMPLE_TOPOLOGY } from './install/files.js';
