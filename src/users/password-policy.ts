import { type AppConfig, ConfigError } from '../config/config.schema.js';

/** A short list of the most common passwords; a longer breach list belongs in a later issue. */
const COMMON = new Set([
  'password', 'password1', 'password123', '123456789012', 'qwertyuiop', 'iloveyou', 'letmein',
  'welcome', 'admin', 'administrator', 'changeme', 'passw0rd', 'p@ssw0rd', 'qwerty123456',
  '1q2w3e4r5t6y', 'abc123456789', 'trustno1', 'dragon', 'monkey', 'football', 'sunshine',
  'correcthorsebatterystaple', 'latchkey', 'latchkey123',
]);

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** NIST 800-63B style: length over composition rules, and no common or account-derived passwords. */
export function passwordWeakness(password: string | undefined, email?: string): string | null {
  if (!password) return 'a password is required';
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `the password must have at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `the password must have at most ${PASSWORD_MAX_LENGTH} characters`;
  const folded = password.toLowerCase();
  if (COMMON.has(folded) || COMMON.has(folded.replace(/[\d!@#$%^&*.]+$/, ''))) return 'the password is too common';
  if (new Set(password).size < 4) return 'the password repeats too few characters';
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && folded.includes(local)) return 'the password must not contain the email address';
  return null;
}

/**
 * The bootstrap admin's password against the users' password rule: a ConfigError naming
 * ADMIN_PASSWORD, or null. The service's start (main.ts) calls it before anything else is loaded.
 */
export function adminPasswordError(config: Pick<AppConfig, 'adminEmail' | 'adminPassword'>): ConfigError | null {
  if (!config.adminPassword) return null;
  const weakness = passwordWeakness(config.adminPassword, config.adminEmail);
  return weakness ? new ConfigError('ADMIN_PASSWORD', ` is too weak for the first admin: ${weakness}`) : null;
}
