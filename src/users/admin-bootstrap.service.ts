import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { adminPasswordError } from './password-policy.js';
import { UsersService } from './users.service.js';

/** On an empty database, ADMIN_EMAIL + ADMIN_PASSWORD create the first user, with role `admin`. */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.count()) > 0) return;
    if (!this.config.adminEmail || !this.config.adminPassword) {
      this.logger.warn('the database has no users: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `npm run cli -- user:create`');
      return;
    }
    const problem = adminPasswordError(this.config);
    if (problem) throw problem;
    const admin = await this.users.createUser({ email: this.config.adminEmail, password: this.config.adminPassword, roles: ['admin'] });
    this.logger.log(`created the first admin user ${admin.email} (${admin.id})`);
  }
}
