/**
 * Where a client app may be sent back to, and which browser origins may call Latchkey for it. Every
 * URI is registered whole and later matched exactly, character for character (OAuth 2.1, RFC 9700
 * section 4.1.3): no wildcards, no partial matches.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A private-use scheme of a native app: a reverse domain name with at least one dot (RFC 8252 section 7.1). */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

function parse(uri: string): URL | null {
  // Whitespace or a control character: the URL parser would drop or encode it, so what is stored would not be what was given.
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > 2048 || [...uri].some((ch) => /\s/.test(ch) || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return null;
  try {
    return new URL(uri);
  } catch {
    return null;
  }
}

/**
 * Why `uri` cannot be a redirect URI, or null when it can: https; http only on a loopback host
 * (RFC 8252 section 7.3, native apps and development); or a private-use scheme (RFC 8252 section
 * 7.1). Never a fragment (RFC 6749 section 3.1.2), never user information.
 */
export function redirectUriProblem(uri: string, o: { privateUse: boolean } = { privateUse: true }): string | null {
  const url = parse(uri);
  if (!url) return 'is not an absolute URI';
  if (url.hash || uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry user information';
  if (url.protocol === 'https:') return url.hostname ? null : 'has no host';
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? null : 'must be https (http only on a loopback host: 127.0.0.1, [::1] or localhost)';
  if (o.privateUse && PRIVATE_USE_SCHEME.test(url.protocol)) return null;
  return o.privateUse ? 'must be https, http on a loopback host, or a private-use scheme such as com.example.app:/callback' : 'must be https (http only on a loopback host)';
}

/** Why `origin` cannot be an allowed CORS origin, or null: `scheme://host[:port]` exactly, https or http on loopback. */
export function originProblem(origin: string): string | null {
  const url = parse(origin);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'is not an http(s) origin';
  if (url.origin !== origin) return `is not an origin as a browser sends it (${url.origin === 'null' ? 'scheme://host[:port]' : url.origin})`;
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must be https (http only on a loopback host)';
  return null;
}
