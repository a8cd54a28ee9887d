import type { Provider } from '@nestjs/common';
import { OidcTokens } from '../tokens/oidc-tokens.js';
import { LogoutTokenSigner } from '../webhooks/logout-token-signer.js';

/** The webhook worker's logout token signer: the ID token keys (the service's and `npm run start:worker`'s). */
export const logoutTokenSignerProvider: Provider = {
  provide: LogoutTokenSigner,
  inject: [OidcTokens],
  useFactory: (oidc: OidcTokens): LogoutTokenSigner => ({ sign: (l) => oidc.logoutToken(l) }),
};
