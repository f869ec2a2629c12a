/** The message of the XbError a call throws ('no error' when it returns). */
import { parseTopology } from '../../src/config/validate.js';
import { problemLines, XbError } from '../../src/errors.js';

export const errorMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof XbError) return e.message;
    throw e;
  }
  return 'no error';
};

/** The problem lines of the config error parsing `yaml` (as t.yaml) throws. */
export const configProblems = (yaml: string): string[] => {
  try {
    parseTopology(yaml, 't.yaml');
  } catch (e) {
    if (e instanceof XbError && e.kind === 'config') return problemLines(e.problems);
    throw e;
  }
  throw new Error('expected a config error');
};
