import type { Scenario } from '../lib/types.js';
import { grants } from './grants.js';

/** Every known scenario, in the order `npm run bench` runs them. Add one line per new scenario. */
export const scenarios: Scenario[] = [
  grants,
];
