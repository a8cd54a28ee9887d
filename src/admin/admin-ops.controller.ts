import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuditLog } from '../audit/audit-log.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { clientJson } from '../tokens/clients/client.presenter.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { KeyService } from '../tokens/keys/key.service.js';
import { auditQuery, withReason } from './admin.schemas.js';
import { Staff, StaffGuard, staffContext } from './staff.guard.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

/** Client apps, signing keys, the panic button and the audit log. */
@Controller('admin/api')
@ApiSurface()
@UseGuards(StaffGuard)
export class AdminOpsController {
  constructor(
    private readonly clients: ClientsService,
    private readonly keys: KeyService,
    private readonly revocation: RevocationService,
    private readonly audit: AuditLog,
  ) {}

  @Get('clients')
  @Staff('admin')
  async listClients() {
    return {
      clients: (await this.clients.list()).map(clientJson),
    };
  }

  @Post('clients/:id/revoke')
  @Staff('admin')
  @HttpCode(200)
  async revokeClient(@CurrentPrincipal() p: Principal, @Param('id') clientId: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    await this.revocation.revokeClient(clientId, staffContext(p, body.reason, req));
    return { done: true };
  }

  @Post('keys/rotate')
  @Staff('admin')
  @HttpCode(200)
  async rotateKeys(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const ctx = staffContext(p, body.reason, req);
    // The rotation and its audit row commit together, or neither does.
    const kid = await this.keys.rotate((tx, newKid) => this.audit.record({ action: 'signing_key.rotated', targetType: 'signing_key', targetId: newKid }, ctx, tx));
    return { kid };
  }

  /** A compromised key: if it signs now, a new key takes over first; then every token it signed is refused. */
  @Post('keys/:kid/revoke')
  @Staff('admin')
  @HttpCode(200)
  async revokeKey(@CurrentPrincipal() p: Principal, @Param('kid') kid: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    // A key that signs now is replaced in the same transaction; this instance signs with the new one on return.
    await this.revocation.revokeSigningKey(kid, staffContext(p, body.reason, req));
    return { revoked: kid, active: this.keys.signingKey().kid };
  }

  @Post('revoke-all')
  @Staff('admin', 'security')
  @HttpCode(200)
  async revokeAll(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const plan = await this.revocation.revokeAll(staffContext(p, body.reason, req));
    return { done: true, tokens_valid_after: plan?.audit[0]?.data?.tokens_valid_after };
  }

  @Get('audit')
  @Staff('admin', 'security')
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

