import type { User } from './user.js';

/** A user id as PostgreSQL's `uuid` type accepts it: anything else never reaches a query. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The opaque cursor of the page after `u` in the user list (created_at, id). */
export const encodeUserCursor = (u: User) => Buffer.from(JSON.stringify([u.createdAt.toISOString(), u.id])).toString('base64url');

/** The position a cursor names, or null when it is not one this API gave out (wrong shape or types, an impossible date, not a UUID). */
export function decodeUserCursor(cursor: string): [string, string] | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, id] = value as unknown[];
    if (typeof at !== 'string' || typeof id !== 'string' || !ISO_MS.test(at) || !UUID.test(id)) return null;
    const date = new Date(at);
    return !Number.isNaN(date.getTime()) && date.toISOString() === at ? [at, id] : null;
  } catch {
    return null;
  }
}
