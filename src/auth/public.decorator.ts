import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'latchkey:public';

/** Opts a route out of the global access-token guard. Every other route requires a valid token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
