import type { Client } from './client.js';

/** A client app as the admin API and the CLI show it (never its secret). */
export const clientJson = (c: Client) => ({
  client_id: c.clientId,
  name: c.name,
  type: c.type,
  grant_types: c.grantTypes,
  scopes: c.scopes,
  status: c.status,
  redirect_uris: c.redirectUris,
  post_logout_redirect_uris: c.postLogoutRedirectUris,
  backchannel_logout_uri: c.backchannelLogoutUri,
  allowed_origins: c.allowedOrigins,
  created_at: c.createdAt.toISOString(),
});
