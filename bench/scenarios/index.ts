import type { Scenario } from '../lib/types.js';
import { denylistMemory } from './denylist-memory.js';
import { grants } from './grants.js';
import { propagation } from './propagation.js';
import { redisLoad } from './redis-load.js';
import { verify } from './verify.js';
import { peer } from './peer.js';
import { storm } from './storm.js';
import { webhooks } from './webhooks.js';

/** Every known scenario, in the order `npm run bench` runs them. Add one line per new scenario. */
export const scenarios: Scenario[] = [
  grants,
  verify,
  propagation,
  denylistMemory,
  redisLoad,
  peer,
  storm,
  webhooks,
];
