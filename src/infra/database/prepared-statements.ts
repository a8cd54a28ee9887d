import { createHash } from 'node:crypto';

/**
 * Named (prepared) statements: a statement run again and again is parsed and planned once per
 * connection instead of on every run, which on the revocation and delivery paths cost more than
 * running it. The name is derived from the text, so only fixed texts should be named.
 */
export const statementName = (text: string): string => `lk_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;

/**
 * PGlite serves every connection from one session, where a name prepared by one connection
 * already exists for the next: there, statements stay unnamed.
 */
export const canPrepare = (version: string): boolean => !/PGlite/i.test(version);
