import { CreateUsers1763830000000 } from './1763830000000-create-users.js';
import { CreateTokens1763840000000 } from './1763840000000-create-tokens.js';
import { CreateWebhooks1764900000000 } from './1764900000000-create-webhooks.js';
import { CreateConsole1765000000000 } from './1765000000000-create-console.js';
import { ClientRedirects1765100000000 } from './1765100000000-client-redirects.js';
import { AuthorizationCode1765200000000 } from './1765200000000-authorization-code.js';
import { WebhookBehind1765300000000 } from './1765300000000-webhook-behind.js';

/** Every migration, oldest first. TypeORM runs the ones a database has not seen yet. */
export const migrations = [CreateUsers1763830000000, CreateTokens1763840000000, CreateWebhooks1764900000000, CreateConsole1765000000000, ClientRedirects1765100000000, AuthorizationCode1765200000000, WebhookBehind1765300000000];
