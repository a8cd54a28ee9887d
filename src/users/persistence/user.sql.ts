/**
 * The users table as other modules' persistence may name it, for the few statements that must read a
 * user in the same statement or transaction as their own write (a token issued under a share lock
 * of its user, so that it races correctly with a lock or a role change; see RevocationService). The
 * users module owns the table: its name and these reads live here.
 */
export const UserSql = {
  /** Joins the user whose id is in `userIdColumn`, as `alias` (columns status, roles, email, tokens_valid_after). */
  join: (alias: string, userIdColumn: string) => `JOIN users ${alias} ON ${alias}.id = ${userIdColumn}`,
  /** The status and roles of user $1, share-locked until the transaction ends. */
  shareLock: `SELECT status, roles FROM users WHERE id = $1 FOR SHARE`,
} as const;
