import { Body, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuditLog } from '../audit/audit-log.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { Database } from '../infra/database/database.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ApiErrors, DATE_TIME, ZodBody, ZodQuery } from '../infra/http/openapi.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { GRANT_TYPES } from '../tokens/clients/client.js';
import { clientJson } from '../tokens/clients/client.presenter.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { KeyService } from '../tokens/keys/key.service.js';
import { auditQuery, createClient, withReason } from './admin.schemas.js';
import { Staff, staffContext } from './staff.guard.js';
import { AdminApi, CHANGE_ERRORS, STAFF_ERRORS, staffRoles as roles } from './admin-api.js';


const CLIENT = {
  type: 'object',
  required: ['client_id', 'name', 'type', 'grant_types', 'scopes', 'status', 'redirect_uris', 'post_logout_redirect_uris', 'backchannel_logout_uri', 'allowed_origins', 'created_at'],
  properties: {
    client_id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string', enum: ['confidential', 'public'] },
    grant_types: { type: 'array', items: { type: 'string', enum: [...GRANT_TYPES] } },
    scopes: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'revoked'] },
    redirect_uris: { type: 'array', items: { type: 'string' } },
    post_logout_redirect_uris: { type: 'array', items: { type: 'string' } },
    backchannel_logout_uri: { type: 'string', nullable: true },
    allowed_origins: { type: 'array', items: { type: 'string' } },
    created_at: DATE_TIME,
  },
};

/** The revocation's audit row: GET /admin/api/audit/{id}/deliveries follows its webhook deliveries. */
const AUDIT_ID = { type: 'string', nullable: true, description: "The revocation's audit row: GET /admin/api/audit/{id}/deliveries follows its webhook deliveries (null when it was done before)." };

const AUDIT_ENTRY = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'target', 'reason', 'request_id', 'data'],
  properties: {
    id: { type: 'string' },
    at: DATE_TIME,
    actor: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string', nullable: true } } },
    action: { type: 'string', example: 'user.locked' },
    target: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string' } } },
    reason: { type: 'string', nullable: true },
    request_id: { type: 'string', nullable: true },
    data: { type: 'object', additionalProperties: true },
  },
};

/** Client apps, signing keys, the panic button and the audit log. */
@AdminApi()
export class AdminOpsController {
  constructor(
    private readonly clients: ClientsService,
    private readonly keys: KeyService,
    private readonly revocation: RevocationService,
    private readonly audit: AuditLog,
    private readonly db: Database,
  ) {}

  @Get('clients')
  @Staff('admin')
  @ApiOperation({ summary: 'List client apps', description: roles('admin') })
  @ApiOkResponse({ description: 'Every client app (never a secret).', schema: { type: 'object', required: ['clients'], properties: { clients: { type: 'array', items: CLIENT } } } })
  @ApiErrors(...STAFF_ERRORS)
  async listClients() {
    return {
      clients: (await this.clients.list()).map(clientJson),
    };
  }

  @Post('clients')
  @Staff('admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a client app', description: `A confidential client gets a secret, in this answer only (stored as a hash). ${roles('admin')}` })
  @ZodBody(createClient)
  @ApiCreatedResponse({ description: 'The client, and its secret once.', schema: { type: 'object', required: ['client', 'client_id'], properties: { client: CLIENT, client_id: { type: 'string' }, client_secret: { type: 'string', description: 'Confidential clients only; shown only here.' } } } })
  @ApiErrors(...CHANGE_ERRORS, TokensErrors.INVALID_CLIENT_NAME, TokensErrors.INVALID_CLIENT_TYPE, TokensErrors.INVALID_GRANT_TYPE, TokensErrors.INVALID_CLIENT_SCOPE, TokensErrors.INVALID_CLIENT_URI)
  async createClient(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(createClient)) body: z.infer<typeof createClient>, @Req() req: FastifyRequest) {
    const ctx = staffContext(p, body.reason, req);
    // The client and its audit row commit together, or neither does.
    const { client, clientSecret } = await this.db.transaction(async (tx) => {
      const created = await this.clients.create(
        {
          name: body.name,
          type: body.type,
          grantTypes: body.grant_types,
          scopes: body.scopes,
          redirectUris: body.redirect_uris,
          postLogoutRedirectUris: body.post_logout_redirect_uris,
          backchannelLogoutUri: body.backchannel_logout_uri,
          allowedOrigins: body.allowed_origins,
        },
        tx,
      );
      await this.audit.record({ action: 'client.created', targetType: 'client', targetId: created.client.clientId, data: { name: created.client.name, type: created.client.type } }, ctx, tx);
      return created;
    });
    return { client: clientJson(client), client_id: client.clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) };
  }

  @Post('clients/:id/revoke')
  @Staff('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a client app', description: `It can no longer authenticate, its sessions end, and every token issued to it is refused. ${roles('admin')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Revoked.', schema: { type: 'object', required: ['done', 'audit_id'], properties: { done: { type: 'boolean', enum: [true] }, audit_id: AUDIT_ID } } })
  @ApiErrors(...CHANGE_ERRORS, TokensErrors.CLIENT_NOT_FOUND)
  async revokeClient(@CurrentPrincipal() p: Principal, @Param('id') clientId: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const plan = await this.revocation.revokeClient(clientId, staffContext(p, body.reason, req));
    return { done: true, audit_id: plan?.auditId ?? null };
  }

  @Post('keys/rotate')
  @Staff('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the signing key', description: `A new key signs from now on; the old one verifies until its tokens expire. ${roles('admin')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'The new active key.', schema: { type: 'object', required: ['kid'], properties: { kid: { type: 'string' } } } })
  @ApiErrors(...STAFF_ERRORS, HttpErrors.VALIDATION_FAILED)
  async rotateKeys(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const ctx = staffContext(p, body.reason, req);
    // The rotation and its audit row commit together, or neither does.
    const kid = await this.keys.rotate(async (tx, newKid) => {
      await this.audit.record({ action: 'signing_key.rotated', targetType: 'signing_key', targetId: newKid }, ctx, tx);
    });
    return { kid };
  }

  /** A compromised key: if it signs now, a new key takes over first; then every token it signed is refused. */
  @Post('keys/:kid/revoke')
  @Staff('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a signing key', description: `A compromised key: if it signs now a new key takes over first; every token it signed is refused. ${roles('admin')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Revoked; the key that signs now.', schema: { type: 'object', required: ['revoked', 'active', 'audit_id'], properties: { revoked: { type: 'string' }, active: { type: 'string' }, audit_id: AUDIT_ID } } })
  @ApiErrors(...CHANGE_ERRORS, TokensErrors.SIGNING_KEY_NOT_FOUND)
  async revokeKey(@CurrentPrincipal() p: Principal, @Param('kid') kid: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    // A key that signs now is replaced in the same transaction; this instance signs with the new one on return.
    const plan = await this.revocation.revokeSigningKey(kid, staffContext(p, body.reason, req));
    return { revoked: kid, active: this.keys.signingKey().kid, audit_id: plan?.auditId ?? null };
  }

  @Post('revoke-all')
  @Staff('admin', 'security')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke everything (the panic button)', description: `Every token issued before now is refused and every session ends. ${roles('admin', 'security')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Done; the global cutoff.', schema: { type: 'object', required: ['done', 'audit_id'], properties: { done: { type: 'boolean', enum: [true] }, tokens_valid_after: { type: 'string' }, audit_id: AUDIT_ID } } })
  @ApiErrors(...CHANGE_ERRORS)
  async revokeAll(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const plan = await this.revocation.revokeAll(staffContext(p, body.reason, req));
    return { done: true, tokens_valid_after: plan?.audit[0]?.data?.tokens_valid_after, audit_id: plan?.auditId ?? null };
  }

  @Get('audit')
  @Staff('admin', 'security')
  @ApiOperation({ summary: 'The audit log', description: `Newest first, a page at a time (\`next_cursor\`). ${roles('admin', 'security')}` })
  @ZodQuery(auditQuery)
  @ApiOkResponse({ description: 'A page of audit entries.', schema: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: AUDIT_ENTRY }, next_cursor: { type: 'string', nullable: true } } } })
  @ApiErrors(...STAFF_ERRORS, HttpErrors.VALIDATION_FAILED)
  async auditLog(@Query(new ZodValidationPipe(auditQuery)) q: z.infer<typeof auditQuery>) {
    const page = await this.audit.list(q);
    return {
      items: page.items.map((e) => ({
        id: e.id,
        at: e.at.toISOString(),
        actor: { type: e.actorType, id: e.actorId },
        action: e.action,
        target: { type: e.targetType, id: e.targetId },
        reason: e.reason,
        request_id: e.requestId,
        data: e.data,
      })),
      next_cursor: page.nextCursor,
    };
  }
}

