/**
 * The diagnosis: for each place frames vanish, the first rule (most specific first) that explains
 * it from the observations and the live state, with its evidence and a fix. Pure: no I/O.
 */
import type { RuleInput, Rule } from './evidence.js';
import { mtuTooSmall, probeNotSent, replyToOtherMac, upstreamNotTrunking, vanishedUnexplained, vifWrongBridge, vlanDeviceSteals } from './rules-layout.js';
import { hopMissing, portDown, pvidMismatch, stpNotForwarding, vidNotOnPort } from './rules-ports.js';
import { droppedByGuard } from './rules-guard.js';
import type { Diagnosis, Vanish } from './types.js';

export type { RuleInput } from './evidence.js';

/** Order matters: a missing or down port explains everything after it; "vanished" explains nothing and comes last. */
export const RULES: readonly Rule[] = [
  hopMissing, portDown, vifWrongBridge, droppedByGuard, stpNotForwarding, vlanDeviceSteals, replyToOtherMac, pvidMismatch, vidNotOnPort,
  mtuTooSmall, upstreamNotTrunking, probeNotSent, vanishedUnexplained,
];

export const diagnose = (inp: RuleInput, failures: Vanish[]): Diagnosis[] => {
  const out: Diagnosis[] = [];
  for (const f of failures) {
    for (const rule of RULES) {
      const d = rule(inp, f);
      if (!d) continue;
      // Several vifs failing for one reason get that reason once.
      if (!out.some((o) => o.rule === d.rule && o.message === d.message)) out.push(d);
      break;
    }
  }
  return out;
};
