/** RFC 6749 section 5.2 (and RFC 6750) error values, as the OAuth endpoints answer them. */
export type OAuthErrorValue =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'unsupported_response_type'
  | 'login_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  | 'too_many_requests'
  | 'server_error'
  | 'temporarily_unavailable';

/** One condition a caller can meet: a stable code, its HTTP status, a title, and its RFC 6749 value where one fits. */
export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  /** The module that declares it (docs/errors.md groups by it). */
  readonly module: string;
  /** What the OAuth endpoints answer as `error` for it; without one they answer by status. */
  readonly oauth?: OAuthErrorValue;
  /** Response headers the condition always carries (WWW-Authenticate, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
}

const catalogue = new Map<string, ErrorSpec>();

/**
 * Declares a module's error codes, once, in one place (`<module>.errors.ts`). A code is declared by
 * one module only: one condition, one code.
 */
export function defineErrors<K extends string>(module: string, specs: Record<K, Omit<ErrorSpec, 'code' | 'module'>>): Record<K, ErrorSpec> {
  const out = {} as Record<K, ErrorSpec>;
  for (const code of Object.keys(specs) as K[]) {
    if (!/^[A-Z][A-Z0-9_]+$/.test(code)) throw new Error(`error code ${code} is not SCREAMING_SNAKE`);
    const existing = catalogue.get(code);
    if (existing && existing.module !== module) throw new Error(`error code ${code} is declared by ${existing.module} and ${module}`);
    const spec: ErrorSpec = Object.freeze({ code, module, ...specs[code] });
    catalogue.set(code, spec);
    out[code] = spec;
  }
  return out;
}

/** Every code declared so far (each module's catalogue registers itself when it is imported). */
export function declaredErrors(): ErrorSpec[] {
  return [...catalogue.values()];
}
