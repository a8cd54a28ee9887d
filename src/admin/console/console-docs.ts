import { applyDecorators } from '@nestjs/common';
import { ApiConsumes, ApiCookieAuth, ApiOperation, ApiProduces, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { ApiHtmlErrors, CONSOLE_SESSION } from '../../infra/http/openapi.js';
import { AdminErrors } from '../admin.errors.js';

type ErrorRef = Parameters<typeof ApiHtmlErrors>[number];

const HTML = { 'text/html': { schema: { type: 'string' } } };
/** What any console request may answer: no session (a 303 to the sign-in page), not the role, a bad request, a failure. */
const PAGE_ERRORS: ErrorRef[] = [AdminErrors.CONSOLE_SIGN_IN_REQUIRED, AdminErrors.ROLE_REQUIRED, HttpErrors.BAD_REQUEST, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE];
/** What a form may answer besides: no CSRF token or another origin, no reason or confirmation. */
const FORM_ERRORS: ErrorRef[] = [AdminErrors.CSRF_REJECTED, AdminErrors.CONFIRMATION_REQUIRED, HttpErrors.VALIDATION_FAILED];

/** A console controller in the OpenAPI document: the `console` tag, the session cookie (or none, for the sign-in pages and assets). */
export const ConsoleDocs = (session: boolean) => applyDecorators(ApiTags('console'), session ? ApiCookieAuth(CONSOLE_SESSION) : ApiSecurity({}));

/** A page (GET). */
export const ConsolePage = (summary: string, ...errors: ErrorRef[]) =>
  applyDecorators(ApiOperation({ summary }), ApiProduces('text/html'), ApiResponse({ status: 200, description: 'The page (HTML).', content: HTML }), ApiHtmlErrors(...PAGE_ERRORS, ...errors));

/** A form post: `303` to the page that shows the result (Post/Redirect/Get), or a page of its own. */
export const ConsoleForm = (summary: string, answer: 200 | 201 | 303, ...errors: ErrorRef[]) =>
  applyDecorators(
    ApiOperation({ summary, description: 'A form post (`application/x-www-form-urlencoded`) with the session’s `_csrf` token; state changes also take `reason` and `confirm=yes`.' }),
    ApiConsumes('application/x-www-form-urlencoded'),
    ApiProduces('text/html'),
    answer === 303 ? ApiResponse({ status: 303, description: 'Done: `Location` is the page that shows the result.' }) : ApiResponse({ status: answer, description: 'Done: the page that shows the result (HTML).', content: HTML }),
    ApiHtmlErrors(...PAGE_ERRORS, ...FORM_ERRORS, ...errors),
  );
