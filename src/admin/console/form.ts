import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../infra/errors/domain-error.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { AdminErrors } from '../admin.errors.js';

/** A console form's fields: strings only, each at most once (anything else reads as absent). */
export function formOf(req: FastifyRequest): Record<string, string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The reason, the ticked confirmation and (where asked) the typed confirmation of a state-changing form. */
export function confirmed(form: Record<string, string>, typed?: string): string {
  const reason = (form.reason ?? '').trim();
  if (reason.length === 0 || reason.length > 500) {
    throw new DomainError(HttpErrors.VALIDATION_FAILED, 'Give a reason (1 to 500 characters): it goes to the audit log. Nothing was changed.');
  }
  if (form.confirm !== 'yes') throw new DomainError(AdminErrors.CONFIRMATION_REQUIRED, 'Tick the confirmation box. Nothing was changed.');
  if (typed !== undefined && (form.typed ?? '').trim() !== typed) {
    throw new DomainError(AdminErrors.CONFIRMATION_REQUIRED, `Type ${typed} exactly to confirm. Nothing was changed.`);
  }
  return reason;
}

/** Sends a console page. */
export function sendPage(reply: FastifyReply, markup: string, status = 200): void {
  void reply.code(status).type('text/html; charset=utf-8').send(markup);
}

/** After a POST: 303 to the page that shows the result. */
export function seeOther(reply: FastifyReply, location: string): void {
  void reply.code(303).header('location', location).send();
}
