import type { User } from '../../users/user.js';

/** What every refused sign-in says, whatever the reason: nothing that tells an unknown user from a wrong password. */
export const SIGN_IN_REFUSED = 'the username or password is incorrect, or the account cannot sign in';

export interface SignInAttempt {
  username: string;
  password: string;
  /** The client's address, for the per-IP throttle. */
  ip: string | null;
}

/**
 * Port: the password check of the password grant. Auth implements it (the SignIn use case:
 * passport-local, throttled per account and per IP, the same work for unknown and locked users).
 * It answers the active user, or throws a condition the OAuth surface renders (invalid_grant,
 * too_many_requests, temporarily_unavailable).
 */
export abstract class PasswordSignIn {
  abstract signIn(attempt: SignInAttempt): Promise<User>;
}
