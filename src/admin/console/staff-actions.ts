import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditContext } from '../../audit/audit-log.js';
import type { ConsoleCaller } from './console-auth.js';
import { ConsoleSessions } from './console-sessions.js';
import { sendPage } from './form.js';
import type { SafeHtml } from '../../infra/http/html.js';
import { page, type PageOptions } from './layout.js';

/** The audit context of a console action: the same shape as the admin API's (actor, reason, request id). */
export const consoleContext = (c: ConsoleCaller, reason: string, req: FastifyRequest): AuditContext => ({ actorType: 'admin', actorId: c.user.id, reason, requestId: String(req.id) });

/** Where a revocation's result is shown: its incident view, or back where the action was taken when it changed nothing. */
export const incidentOr = (plan: { auditId?: string } | null, fallback: string) => (plan?.auditId ? `/admin/incidents/${plan.auditId}` : fallback);

/** Renders console pages with the message left by the last action (shown once). */
@Injectable()
export class ConsoleView {
  constructor(private readonly sessions: ConsoleSessions) {}

  /** Keeps `message` for the next page the staff member sees. */
  async flash(c: ConsoleCaller, message: string): Promise<void> {
    c.session.data.flash = message;
    await this.sessions.save(c.session);
  }

  async send(reply: FastifyReply, c: ConsoleCaller, o: Omit<PageOptions, 'caller' | 'flash'>, body: SafeHtml, status = 200): Promise<void> {
    const flash = c.session.data.flash;
    if (flash) {
      delete c.session.data.flash;
      await this.sessions.save(c.session);
    }
    sendPage(reply, page({ ...o, caller: c, flash }, body), status);
  }
}
