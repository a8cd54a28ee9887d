import { jest } from '@jest/globals';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/config.schema.js';
import { MemoryConsoleSessionStore } from './console-session.store.js';
import { ConsoleSessions, consoleCookie } from './console-sessions.js';

/** The idle and absolute timeouts, on a clock the test moves. */
describe('console session timeouts', () => {
  const config = { issuer: 'http://localhost:3000', consoleIdleTimeout: 15 * 60, consoleAbsoluteTimeout: 8 * 3600 } as AppConfig;
  let now = 1_800_000_000_000;
  beforeEach(() => jest.spyOn(Date, 'now').mockImplementation(() => now));
  afterEach(() => jest.restoreAllMocks());

  async function signedIn() {
    const sessions = new ConsoleSessions(new MemoryConsoleSessionStore(), config);
    let id = '';
    const reply = { setCookie: (_n: string, v: string) => void (id = v) } as unknown as FastifyReply;
    await sessions.issue(reply, { userId: 'u', stage: 'in' });
    const req = () => ({ cookies: { lk_console: id } }) as unknown as FastifyRequest;
    return { sessions, req };
  }

  it('ends a session idle past the idle timeout, and restarts the idle timer on each use', async () => {
    const { sessions, req } = await signedIn();
    now += 14 * 60_000;
    expect(await sessions.read(req())).not.toBeNull();
    now += 14 * 60_000;
    expect(await sessions.read(req())).not.toBeNull();
    // The page's own polling does not count as use.
    now += 14 * 60_000;
    expect(await sessions.read(req(), { touch: false })).not.toBeNull();
    now += 2 * 60_000;
    expect(await sessions.read(req())).toBeNull();
  });

  it('ends a session at the absolute timeout however busy it is', async () => {
    const { sessions, req } = await signedIn();
    for (let i = 0; i < 8 * 6 - 1; i++) {
      now += 10 * 60_000;
      expect(await sessions.read(req())).not.toBeNull();
    }
    now += 10 * 60_000 + 1;
    expect(await sessions.read(req())).toBeNull();
  });
});

describe('the console cookie', () => {
  it('is host-locked and Secure under https, path-scoped under http', () => {
    expect(consoleCookie('https://id.example.com')).toEqual({ name: '__Host-lk_console', path: '/', httpOnly: true, sameSite: 'strict', secure: true });
    expect(consoleCookie('http://localhost:3000')).toEqual({ name: 'lk_console', path: '/admin', httpOnly: true, sameSite: 'strict', secure: false });
  });
});
