import { applyDecorators, Controller, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthErrors } from '../auth/auth.errors.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';
import { BEARER, COMMON_API_ERRORS } from '../infra/http/openapi.js';
import { RevocationErrors } from '../revocation/revocation.errors.js';
import { AdminErrors } from './admin.errors.js';
import { StaffGuard } from './staff.guard.js';

/** A controller of the admin API: under /admin/api, problem+json, a staff member's bearer token, in the OpenAPI document's admin group. */
export const AdminApi = () => applyDecorators(ApiTags('admin'), ApiBearerAuth(BEARER), Controller('admin/api'), ApiSurface(), UseGuards(StaffGuard));

/** What every admin route may answer (for the OpenAPI document): no token, a bad or revoked one, not staff, not the role. */
export const STAFF_ERRORS = [...COMMON_API_ERRORS, AuthErrors.TOKEN_REQUIRED, AuthErrors.INVALID_TOKEN, AdminErrors.STAFF_ONLY, AdminErrors.ROLE_REQUIRED, RevocationErrors.REVOCATION_STATE_UNAVAILABLE];

/** What a state change may answer besides: no reason, or a revocation not yet confirmed everywhere. */
export const CHANGE_ERRORS = [...STAFF_ERRORS, HttpErrors.VALIDATION_FAILED, RevocationErrors.REVOCATION_NOT_PROPAGATED];

/** The sentence an operation's description ends with. */
export const staffRoles = (...r: string[]) => `Staff roles: ${r.map((x) => `\`${x}\``).join(' or ')}.`;
