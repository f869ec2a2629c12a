/** The message of the XbError a call throws ('no error' when it returns). */
import { XbError } from '../../src/errors.js';

export const errorMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof XbError) return e.message;
    throw e;
  }
  return 'no error';
};
