export type ClientType = 'confidential' | 'public';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** A registered client app, as every ordinary read returns it: never with the secret hash. */
export interface Client {
  id: string;
  clientId: string;
  name: string;
  type: ClientType;
  grantTypes: GrantType[];
  scopes: string[];
  status: 'active' | 'revoked';
  tokensValidAfter: Date | null;
  createdAt: Date;
  /** Where the authorization code flow may send the user back: matched exactly. */
  redirectUris: string[];
  /** Where RP-initiated logout may send the user back: matched exactly. */
  postLogoutRedirectUris: string[];
  /** Where OpenID Connect back-channel logout tokens are POSTed, if anywhere. */
  backchannelLogoutUri: string | null;
  /** Browser origins that may call Latchkey's endpoints for this client (CORS). */
  allowedOrigins: string[];
}

export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
