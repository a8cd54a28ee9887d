/**
 * Port: signs an OpenID Connect back-channel logout token at each delivery attempt (so that its
 * `iat` and `exp` are fresh however long the retries take), with the same `jti` on every attempt.
 * The revocation module provides it from the signing keys (tokens); webhooks know no keys.
 */
export abstract class LogoutTokenSigner {
  abstract sign(l: { clientId: string; sub: string; sid: string; jti: string }): string;
}
