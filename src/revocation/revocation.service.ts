import { Injectable, Logger } from '@nestjs/common';
import { type AuditContext, AuditLog } from '../audit/audit-log.js';
import { AppConfig } from '../config/config.schema.js';
import { Database, type Tx } from '../infra/database/database.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { ClientRevocationPort } from '../tokens/clients/client.revocation-port.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { KeyService } from '../tokens/keys/key.service.js';
import { SigningKeyRevocationPort } from '../tokens/keys/signing-key.revocation-port.js';
import { SessionRevocationPort } from '../tokens/sessions/session.revocation-port.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { UserRevocationPort } from '../users/user.revocation-port.js';
import { userNotFound } from '../users/users.errors.js';
import type { EventSubject, WebhookEventDraft, WebhookEventType } from '../webhooks/webhook-events.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { DenylistStore } from './denylist.store.js';
import { DenylistSync } from './denylist-sync.service.js';
import { RevocationNotPropagated } from './revocation.errors.js';
import { type RevocationPlan, type RevocationRecord, RevocationRepository } from './revocation.repository.js';

/** Revoking a client leaves room for issuance already in flight and for clocks that disagree. */
const CLIENT_CUTOFF_MARGIN_MS = 60_000;

type Work = (tx: Tx, honourUntil: Date) => Promise<RevocationPlan | null>;

const isoOf = (ms: number) => new Date(ms).toISOString();

const user = (id: string): EventSubject => ({ type: 'user', id });
const event = (type: WebhookEventType, subject: EventSubject, honourUntil: Date | null, more: Omit<WebhookEventDraft, 'type' | 'subject' | 'honourUntil'> = {}): WebhookEventDraft => ({
  type,
  subject,
  honourUntil,
  ...more,
});

/**
 * The one way to revoke anything. Each operation commits the state change (through the owning
 * module's write port), a durable revocation record and its audit rows in one PostgreSQL
 * transaction, finishes what the instance caches, then writes the denylist, then returns: when it
 * returns, no instance accepts an affected token. If the denylist write fails after the commit, the
 * call fails with 503 REVOCATION_NOT_PROPAGATED, and every instance's DenylistSync still applies the
 * committed record within a second (or Redis is down, and every instance fails closed until it is
 * back and rebuilt).
 *
 * Cutoffs (user, global) are taken inside the transaction on the database's clock, after the row
 * they change is locked: a token issued under a share lock of that row (see SessionRepository)
 * carries an issue time, from the same clock, that is either before the cutoff, or after the new
 * state was committed (and then it carries that state).
 */
@Injectable()
export class RevocationService {
  private readonly logger = new Logger('Revocation');

  constructor(
    private readonly db: Database,
    private readonly repo: RevocationRepository,
    private readonly audit: AuditLog,
    private readonly users: UserRevocationPort,
    private readonly sessions: SessionRevocationPort,
    private readonly clients: ClientRevocationPort,
    private readonly keys: SigningKeyRevocationPort,
    private readonly clientCache: ClientsService,
    private readonly keyCache: KeyService,
    private readonly denylist: DenylistStore,
    private readonly sync: DenylistSync,
    private readonly outbox: WebhookOutbox,
    private readonly config: AppConfig,
  ) {}

  /** RFC 7009 on an access token: that token alone, until it expires. */
  revokeAccessToken(token: { jti: string; exp: number; sub: string; client_id?: string; sid?: string }, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async () => {
      const honourUntil = new Date(token.exp * 1000);
      if (honourUntil.getTime() <= Date.now()) return null;
      // A client's own token (client_credentials) has the client as its subject.
      const subject: EventSubject = token.sid || token.sub !== token.client_id ? user(token.sub) : { type: 'client', id: token.sub };
      return {
        records: [{ kind: 'jti', subject: token.jti, honourUntil }],
        audit: [{ action: 'token.revoked', targetType: 'access_token', targetId: token.jti, data: { sub: token.sub, jti: token.jti } }],
        events: [event('token.revoked', subject, honourUntil, { jti: [token.jti], extra: token.client_id ? { client_id: token.client_id } : {} })],
      };
    }, ctx);
  }

  /** Ends one login session: its refresh tokens and access tokens are refused. */
  revokeSession(sid: string, ctx: AuditContext, action = 'session.revoked'): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const ended = await this.sessions.end(tx, sid, action);
      if (!ended) {
        // Revoked before (perhaps by a call whose denylist write failed): assert the entry again.
        const revokedAt = await this.sessions.revokedWithin(tx, sid, this.config.accessTokenTtl);
        if (!revokedAt) return null;
        const until = new Date(revokedAt.getTime() + this.config.accessTokenTtl * 1000);
        return { records: [{ kind: 'sid', subject: sid, honourUntil: until }], audit: [], persist: false };
      }
      const type = action === 'refresh_token.reuse_detected' ? 'refresh_token.reuse_detected' : 'session.revoked';
      return {
        records: ended.sids.map((s) => ({ kind: 'sid' as const, subject: s, honourUntil })),
        audit: [{ action, targetType: 'session', targetId: sid, data: { user_id: ended.userId, sid: ended.sids } }],
        events: [event(type, user(ended.userId), honourUntil, { sid: ended.sids, extra: { cause: action } })],
      };
    }, ctx);
  }

  /** A used refresh token came back: the whole session (family) ends. */
  revokeFamilyOnReuse(sid: string, requestId?: string): Promise<RevocationPlan | null> {
    return this.revokeSession(sid, { actorType: 'system', actorId: null, reason: 'a used refresh token was presented again', requestId }, 'refresh_token.reuse_detected');
  }

  /** "Sign out everywhere": every session of the user ends and every token issued until now is refused. */
  revokeUserSessions(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.userCutoff(userId, ctx, 'user.sessions_revoked', false);
  }

  /** Lock: no login, no refresh, every session ended and every token refused at once. */
  lockUser(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.userCutoff(userId, ctx, 'user.locked', true);
  }

  /** Unlock: the user may log in again; nothing that was revoked comes back. */
  unlockUser(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx) => {
      if (!(await this.users.unlock(tx, userId))) throw userNotFound();
      return { records: [], audit: [{ action: 'user.unlocked', targetType: 'user', targetId: userId }], events: [event('user.unlocked', user(userId), null)] };
    }, ctx);
  }

  /** New roles; tokens carrying the old ones are refused. Sessions live on and refresh into the new roles. */
  setRoles(userId: string, roles: string[], ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const changed = await this.users.setRoles(tx, userId, roles);
      if (!changed) throw userNotFound();
      const { cutoffMs, previous } = changed;
      return {
        records: [{ kind: 'user', subject: userId, cutoffMs, honourUntil }],
        audit: [{ action: 'user.roles_changed', targetType: 'user', targetId: userId, data: { from: previous, to: roles, tokens_valid_after: isoOf(cutoffMs) } }],
        events: [event('user.roles_changed', user(userId), honourUntil, { tokensValidAfter: new Date(cutoffMs), extra: { roles: { from: previous, to: roles } } })],
      };
    }, ctx);
  }

  /** A new password; every other session of the user ends at once. */
  changePassword(userId: string, passwordHash: string, keepSid: string | undefined, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      if (!(await this.users.setPasswordHash(tx, userId, passwordHash))) throw userNotFound();
      const sids = await this.sessions.endForUser(tx, userId, 'user.password_changed', keepSid);
      return {
        records: sids.map((sid) => ({ kind: 'sid' as const, subject: sid, honourUntil })),
        audit: [{ action: 'user.password_changed', targetType: 'user', targetId: userId, data: { sid: sids } }],
        events: [event('user.password_changed', user(userId), sids.length ? honourUntil : null, { sid: sids, extra: keepSid ? { kept_sid: keepSid } : {} })],
      };
    }, ctx);
  }

  /** A client app revoked: no token issued to it is accepted, and it cannot get new ones. */
  revokeClient(clientId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      if (!(await this.clients.revoke(tx, clientId))) throw new DomainError(TokensErrors.CLIENT_NOT_FOUND, 'no such client');
      const cutoffMs = Date.now() + CLIENT_CUTOFF_MARGIN_MS;
      const sids = await this.sessions.endForClient(tx, clientId, 'client.revoked');
      const until = new Date(honourUntil.getTime() + CLIENT_CUTOFF_MARGIN_MS);
      return {
        records: [{ kind: 'client', subject: clientId, cutoffMs, honourUntil: until }],
        audit: [{ action: 'client.revoked', targetType: 'client', targetId: clientId, data: { sessions_ended: sids.length } }],
        events: [event('client.revoked', { type: 'client', id: clientId }, until, { sid: sids, tokensValidAfter: new Date(cutoffMs) })],
        afterCommit: () => this.clientCache.forget(clientId),
      };
    }, ctx);
  }

  /**
   * A compromised signing key: every token it signed is refused. When it is the active key, a new
   * key takes over in the same transaction; this instance reloads its keys before returning.
   */
  revokeSigningKey(kid: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const outcome = await this.keys.revoke(tx, kid);
      if (!outcome.found) throw new DomainError(TokensErrors.SIGNING_KEY_NOT_FOUND, 'no such signing key');
      const reload = () => this.keyCache.refresh(true);
      // Revoked before (perhaps by a call that could not finish): assert the entry and reload again.
      if (!outcome.revoked) return { records: [{ kind: 'kid', subject: kid, honourUntil }], audit: [], persist: false, afterCommit: reload };
      const rotated = outcome.successorKid ? [{ action: 'signing_key.rotated', targetType: 'signing_key', targetId: outcome.successorKid, data: { replaces: kid } }] : [];
      return {
        records: [{ kind: 'kid', subject: kid, honourUntil }],
        audit: [...rotated, { action: 'signing_key.revoked', targetType: 'signing_key', targetId: kid }],
        events: [event('signing_key.revoked', { type: 'signing_key', id: kid }, honourUntil, { extra: { kid, successor_kid: outcome.successorKid ?? null } })],
        afterCommit: reload,
      };
    }, ctx);
  }

  /** The panic button: every token issued before now is refused, and every session ends. */
  revokeAll(ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const { ended, cutoffMs } = await this.sessions.endAll(tx, 'revoke-all');
      return {
        records: [{ kind: 'global', subject: '', cutoffMs, honourUntil }],
        audit: [{ action: 'tokens.revoked_all', targetType: 'global', targetId: '*', data: { sessions_ended: ended, tokens_valid_after: isoOf(cutoffMs) } }],
        events: [event('revocation.global', { type: 'global', id: '*' }, honourUntil, { tokensValidAfter: new Date(cutoffMs), extra: { sessions_ended: ended } })],
      };
    }, ctx);
  }

  private userCutoff(userId: string, ctx: AuditContext, action: string, lock: boolean): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      // The port takes the cutoff after locking the user's row: see the class comment.
      const cut = await this.users.setCutoff(tx, userId, { lock });
      if (!cut) throw userNotFound();
      const sids = await this.sessions.endForUser(tx, userId, action);
      const records: RevocationRecord[] = [
        { kind: 'user', subject: userId, cutoffMs: cut.cutoffMs, honourUntil },
        ...sids.map((sid) => ({ kind: 'sid' as const, subject: sid, honourUntil })),
      ];
      return {
        records,
        audit: [{ action, targetType: 'user', targetId: userId, data: { sid: sids, tokens_valid_after: isoOf(cut.cutoffMs) } }],
        events: [event(lock ? 'user.locked' : 'user.sessions_revoked', user(userId), honourUntil, { sid: sids, tokensValidAfter: new Date(cut.cutoffMs) })],
      };
    }, ctx);
  }

  /**
   * OpenID Connect Back-Channel Logout: each client session that ended, of a client with a
   * `backchannel_logout_uri`, gets a logout token there: the delivery is written in the same
   * transaction as the revocation (the worker signs the token at each attempt). (The panic button ends every session without listing them: its notice is the
   * `revocation.global` webhook.)
   */
  private async backchannelLogout(tx: Tx, records: RevocationRecord[]): Promise<void> {
    const sids = records.filter((r) => r.kind === 'sid').map((r) => r.subject);
    for (const s of await this.sessions.backchannelTargets(tx, sids)) {
      await this.outbox.emitBackchannelLogout(tx, { clientId: s.clientId, url: s.uri, sid: s.sid, sub: s.userId });
    }
  }

  private async apply(work: Work, ctx: AuditContext): Promise<RevocationPlan | null> {
    const honourUntil = new Date(Date.now() + this.config.accessTokenTtl * 1000);
    const plan = await this.db.transaction(async (tx) => {
      const decided = await work(tx, honourUntil);
      if (!decided || decided.persist === false) return decided;
      await this.repo.record(tx, decided.records);
      for (const entry of decided.audit) decided.auditId = await this.audit.record(entry, ctx, tx);
      for (const e of decided.events ?? []) await this.outbox.emit(tx, { ...e, auditId: decided.auditId }, ctx);
      await this.backchannelLogout(tx, decided.records);
      return decided;
    });
    if (!plan) return null;
    if (plan.events?.length) this.outbox.committed();
    const what = plan.audit.at(-1)?.action ?? 're-assert';
    // Committed: from here a failure cannot undo the revocation, only make the call say it is not
    // confirmed yet (503, idempotent to retry), after everything else was still tried.
    let finished = true;
    try {
      await plan.afterCommit?.();
    } catch (err) {
      finished = false;
      this.logger.error(`after-commit step failed (${what}): ${(err as Error).message}`);
    }
    if (plan.records.length) {
      try {
        await this.denylist.add(
          plan.records.map((r) => ({ kind: r.kind, subject: r.subject, cutoffMs: r.cutoffMs, ttlSeconds: Math.max(1, (r.honourUntil.getTime() - Date.now()) / 1000) })),
        );
        if (plan.persist !== false) this.sync.noteApplied(plan.records);
      } catch (err) {
        this.sync.markDirty();
        this.logger.error(`denylist write failed after commit (${what}): ${(err as Error).message}`);
        finished = false;
      }
    }
    if (!finished) throw new RevocationNotPropagated();
    return plan;
  }
}
