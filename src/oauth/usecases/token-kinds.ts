/** A JWT has three dot-separated parts; an opaque refresh token has none. */
export const looksLikeJwt = (t: string) => t.split('.').length === 3;

/** Longer than any refresh token Latchkey issues: not looked up. */
export const MAX_REFRESH_TOKEN_LENGTH = 512;
