import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { type ConsoleSessionData, ConsoleSessionStore } from './console-session.store.js';

export interface ConsoleSession {
  /** The store's key: the SHA-256 of the id the cookie carries. */
  key: string;
  data: ConsoleSessionData;
}

export interface CookieAttributes {
  name: string;
  path: string;
  httpOnly: true;
  sameSite: 'strict';
  secure: boolean;
}

/**
 * The console cookie. Under https it is `__Host-` prefixed and Secure; the prefix requires `Path=/`
 * (RFC 6265bis section 4.1.3.2), so there the cookie is host-locked instead of path-scoped. Under
 * http (local development) it is `Path=/admin`.
 */
export function consoleCookie(issuer: string): CookieAttributes {
  const secure = new URL(issuer).protocol === 'https:';
  return secure
    ? { name: '__Host-lk_console', path: '/', httpOnly: true, sameSite: 'strict', secure: true }
    : { name: 'lk_console', path: '/admin', httpOnly: true, sameSite: 'strict', secure: false };
}

/**
 * Server-side console sessions: the browser holds a random 256-bit id, the store holds the rest
 * under its SHA-256. A new id at every step of the sign-in (password, second factor) and at sign-out;
 * idle and absolute timeouts; a planted or unknown id is never adopted.
 */
@Injectable()
export class ConsoleSessions {
  readonly cookie: CookieAttributes;

  constructor(
    private readonly store: ConsoleSessionStore,
    private readonly config: AppConfig,
  ) {
    this.cookie = consoleCookie(config.issuer);
  }

  /** The request's live session, touched (its idle timer restarts); null when absent, unknown or timed out. */
  async read(req: FastifyRequest, o: { touch?: boolean } = {}): Promise<ConsoleSession | null> {
    const id = (req.cookies as Record<string, string | undefined> | undefined)?.[this.cookie.name];
    if (!id || id.length > 100) return null;
    const key = sha256(id);
    const data = await this.store.get(key);
    if (!data) return null;
    const now = Date.now();
    if (now - data.lastSeenAt > this.config.consoleIdleTimeout * 1000 || now - data.createdAt > this.config.consoleAbsoluteTimeout * 1000) {
      await this.store.delete(key);
      return null;
    }
    if (o.touch !== false) {
      data.lastSeenAt = now;
      await this.save({ key, data });
    }
    return { key, data };
  }

  /** Issues a new id for `data` (sign-in steps, a fresh anonymous session), ending `previous`. */
  async issue(reply: FastifyReply, data: Omit<ConsoleSessionData, 'csrf' | 'createdAt' | 'lastSeenAt'>, previous?: ConsoleSession | null): Promise<ConsoleSession> {
    if (previous) await this.store.delete(previous.key);
    const id = randomToken(32);
    const now = Date.now();
    const session: ConsoleSession = { key: sha256(id), data: { ...data, csrf: randomToken(32), createdAt: now, lastSeenAt: now } };
    await this.save(session);
    reply.setCookie(this.cookie.name, id, { path: this.cookie.path, httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
    return session;
  }

  async save(session: ConsoleSession): Promise<void> {
    const { data } = session;
    const idleEnd = data.lastSeenAt + this.config.consoleIdleTimeout * 1000;
    const absoluteEnd = data.createdAt + this.config.consoleAbsoluteTimeout * 1000;
    await this.store.put(session.key, data, Math.min(idleEnd, absoluteEnd) - Date.now());
  }

  /**
   * The sign-in form's CSRF token, before there is any session: a random value in a cookie of its
   * own (`HttpOnly`, `SameSite=Strict`) that the form must repeat (double submit), with the Origin
   * check. Nothing is stored on the server until a password is right, so an anonymous visitor cannot
   * fill the session store.
   */
  loginToken(req: FastifyRequest, reply: FastifyReply): string {
    const known = (req.cookies as Record<string, string | undefined> | undefined)?.[this.loginCookie];
    if (known && /^[A-Za-z0-9_-]{43}$/.test(known)) return known;
    const token = randomToken(32);
    reply.setCookie(this.loginCookie, token, { path: this.cookie.path, httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
    return token;
  }

  /** The sign-in form's token as its cookie holds it (null: none). */
  loginTokenOf(req: FastifyRequest): string | null {
    return (req.cookies as Record<string, string | undefined> | undefined)?.[this.loginCookie] ?? null;
  }

  private get loginCookie(): string {
    return `${this.cookie.name}_login`;
  }

  /** Sign-out: the session ends on the server, and the cookie is cleared. */
  async destroy(reply: FastifyReply, session: ConsoleSession | null): Promise<void> {
    if (session) await this.store.delete(session.key);
    reply.clearCookie(this.cookie.name, { path: this.cookie.path, httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
  }
}
