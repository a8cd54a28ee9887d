import type { AppConfig } from '../../config/config.schema.js';
import { clientErrorHandler, frameworkErrors } from './framework-answers.js';

/** How often Node looks for requests past their timeouts (its default, 30 s, would outlast a short timeout). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Fastify's server options that no feature owns: how long a client may take to send a request (its
 * headers, then all of it) and may keep an idle connection, and what Fastify answers itself. The
 * timeouts are given to Fastify (which sets them on the server after creating it) and to Node's
 * server too (which checks them on an interval it reads only when it is created).
 */
export function serverOptions(config: AppConfig) {
  return {
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    http: {
      requestTimeout: config.httpRequestTimeoutMs,
      headersTimeout: config.httpHeadersTimeoutMs,
      keepAliveTimeout: config.httpKeepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    frameworkErrors,
    clientErrorHandler,
  };
}
