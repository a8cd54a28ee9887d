import { z } from 'zod';
import { ROLE_PATTERN } from '../users/user.js';
import { decodeUserCursor } from '../users/user-cursor.js';
import { EVENT_TYPES } from '../webhooks/webhook-events.js';

/** Every state-changing admin call says why; the reason goes to the audit log with the actor. */
export const reason = z.string({ message: 'a reason (1 to 500 characters) is required' }).trim().min(1, 'a reason (1 to 500 characters) is required').max(500, 'the reason must have at most 500 characters').describe('Why: written to the audit log with the actor and the request id.');

export const withReason = z.object({ reason }).strict();
export const setRoles = z.object({ reason, roles: z.array(z.string().regex(ROLE_PATTERN, 'not a valid role name')).max(32) }).strict();
export const createUser = z
  .object({ reason, email: z.string().max(254), password: z.string().max(1024), roles: z.array(z.string().regex(ROLE_PATTERN, 'not a valid role name')).max(32).default([]) })
  .strict();
export const listQuery = z.object({ q: z.string().max(254).optional(), cursor: z.string().max(200).refine((c) => decodeUserCursor(c) !== null, 'not a cursor from this API').optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });
const uris = (what: string) => z.array(z.string().max(2048)).max(20).default([]).describe(`${what}, each matched exactly, character for character.`);
export const createClient = z
  .object({
    reason,
    name: z.string().max(200),
    type: z.enum(['confidential', 'public'], { message: 'expected confidential or public' }),
    grant_types: z.array(z.string().max(64)).min(1).max(10),
    scopes: z.array(z.string().max(64)).max(100).default([]),
    redirect_uris: uris('Where the authorization code flow may return: https, http on a loopback host, or a private-use scheme (RFC 8252)'),
    post_logout_redirect_uris: uris('Where RP-initiated logout may return'),
    backchannel_logout_uri: z.string().max(2048).nullable().default(null).describe('Where OpenID Connect back-channel logout tokens are POSTed (https).'),
    allowed_origins: z.array(z.string().max(2048)).max(20).default([]).describe('Browser origins (scheme://host[:port]) that may call Latchkey for this client (CORS).'),
  })
  .strict();
export const auditQuery = z.object({
  actor: z.string().max(200).optional(),
  target: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  cursor: z.string().regex(/^\d{1,18}$/, 'not a cursor from this API').optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const eventTypes = z
  .array(z.enum(['*', ...EVENT_TYPES], { message: `an event type: ${EVENT_TYPES.join(', ')}, or * for all` }))
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .describe('The event types to send, or ["*"] for every type (the default).');
const webhookUrl = z.string().min(1).max(2048).describe('Where events are POSTed: https (http is allowed outside production).');
const description = z.string().max(500);
export const createWebhook = z.object({ reason, url: webhookUrl, description: description.default(''), event_types: eventTypes.default(['*']), enabled: z.boolean().default(true) }).strict();
export const updateWebhook = z.object({ reason, url: webhookUrl.optional(), description: description.optional(), event_types: eventTypes.optional(), enabled: z.boolean().optional() }).strict();
export const deliveriesQuery = z.object({
  status: z.enum(['pending', 'delivered', 'retrying', 'failed']).optional(),
  cursor: z.uuid('not a cursor from this API').optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const redeliverFailed = z.object({ reason, since: z.iso.datetime({ offset: true, message: 'an ISO 8601 date and time, such as 2026-01-31T12:00:00Z' }) }).strict();
/** `["*"]` (or a list holding it) means every type: stored as null. */
export const eventTypesOf = (types: string[] | undefined) => (types === undefined ? undefined : types.includes('*') ? null : [...new Set(types)]);
