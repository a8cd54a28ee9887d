import type { Session } from './session.repository.js';

/** A session as the admin API and the CLI show it. */
export const sessionJson = (s: Session) => ({
  sid: s.id,
  user_id: s.userId,
  client_id: s.clientId,
  kind: s.kind,
  parent_sid: s.parentId,
  scope: s.scope,
  ip: s.ip,
  user_agent: s.userAgent,
  created_at: s.createdAt.toISOString(),
  last_seen_at: s.lastSeenAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
  idle_expires_at: s.idleExpiresAt.toISOString(),
});

/** A session as its own user sees it (`GET /me/sessions`): which one is the caller's. */
export const ownSessionJson = (s: Session, currentSid: string) => {
  const { sid, client_id, kind, parent_sid, created_at, last_seen_at, expires_at, idle_expires_at, ip, user_agent } = sessionJson(s);
  return { sid, client_id, kind, parent_sid, created_at, last_seen_at, expires_at, idle_expires_at, ip, user_agent, current: s.id === currentSid };
};
