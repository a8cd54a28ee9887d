import { CreateUsers1763830000000 } from './1763830000000-create-users.js';

/** Every migration, oldest first. TypeORM runs the ones a database has not seen yet. */
export const migrations = [CreateUsers1763830000000];
