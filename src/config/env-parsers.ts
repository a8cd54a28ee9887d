import { z } from 'zod';

/** The shapes an environment variable takes: each answers a message naming what it expected. */

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

export const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return Number(v);
    });

/** Durations are seconds, or a number with a unit: 900, 15m, 30d. */
export const duration = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const m = /^(\d+)(s|m|h|d)?$/.exec(v);
      const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'] : NaN;
      if (!(seconds >= min && seconds <= max)) {
        ctx.addIssue({ code: 'custom', message: `expected a duration from ${min}s to ${max}s such as 900 or 15m, got "${v}"` });
        return z.NEVER;
      }
      return seconds;
    });

export const optionalUrl = (protocols: string[], what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected a ${what} URL (${protocols.join(' or ')}), got something that is not a URL` });
        return z.NEVER;
      }
      if (!protocols.includes(url.protocol) || !url.hostname) {
        ctx.addIssue({ code: 'custom', message: `expected a ${what} URL starting with ${protocols.join(' or ')}//host` });
        return z.NEVER;
      }
      return v;
    });

/** Seconds between webhook attempts: 5,30,120 (each 1 s to 7 d, at most 30 of them). */
export const delays = (fallback: number[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const list = v.split(',').map((x) => x.trim());
      if (list.length > 30 || !list.every((x) => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 7 * 86400)) {
        ctx.addIssue({ code: 'custom', message: `expected up to 30 comma-separated whole seconds from 1 to 604800, such as 5,30,120, got "${v.slice(0, 80)}"` });
        return z.NEVER;
      }
      return list.map(Number);
    });
