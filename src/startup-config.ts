import { type AppConfig, loadConfig } from './config/config.schema.js';
import { adminPasswordError } from './users/password-policy.js';

/**
 * The validated configuration, with the checks that belong to features but must hold before
 * anything starts (the bootstrap admin's password: the users' rule). Throws a ConfigError naming
 * the variable. The service and the CLI both start with it.
 */
export function loadStartupConfig(): AppConfig {
  const config = loadConfig();
  const adminProblem = adminPasswordError(config);
  if (adminProblem) throw adminProblem;
  return config;
}
