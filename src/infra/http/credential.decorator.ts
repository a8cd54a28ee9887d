import { SetMetadata } from '@nestjs/common';

export const CREDENTIAL = 'latchkey:credential';

/**
 * What a route group authenticates with. `bearer` (an access token) is the default of every route;
 * a browser surface declares its own (a server-side session cookie); `none` is `@Public()`.
 */
export type CredentialKind = 'bearer' | 'session' | 'none';

/** Declares the credential a controller (or one route) takes; the global guard enforces it. */
export const Credential = (kind: CredentialKind) => SetMetadata(CREDENTIAL, kind);

/** Opts a route out of authentication. Every other route requires its credential. */
export const Public = () => Credential('none');
