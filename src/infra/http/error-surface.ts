import { type ArgumentsHost, type ExceptionFilter, UseFilters } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

/** The filter of each surface (OAuth JSON, problem+json, HTML) by name, as the route groups declare them. */
const surfaces = new Map<string, ExceptionFilter>();

/**
 * Binds a route group to the filter that answers its errors in its own format. The filter catches
 * what the group's guards, pipes and handlers throw; the group's routes also carry the surface's
 * name in their Fastify route config, so that an error Fastify raises before the handler (a body
 * too large, an unparsable body) is answered by the same filter.
 */
export function ErrorSurface(name: string, filter: ExceptionFilter): ClassDecorator {
  const known = surfaces.get(name);
  if (known && known !== filter) throw new Error(`error surface ${name} is bound to two filters`);
  surfaces.set(name, filter);
  return (target) => {
    UseFilters(filter)(target);
    const proto = (target as unknown as { prototype: Record<string, unknown> }).prototype;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (key === 'constructor' || typeof descriptor?.value !== 'function' || Reflect.getMetadata(PATH_METADATA, descriptor.value) === undefined) continue;
      RouteConfig({ errorSurface: name })(proto, key, descriptor);
    }
  };
}

/** Paths that belong to a surface even where no route matched (a 404 under the console renders as its page). */
const pathSurfaces: { owns: (path: string) => boolean; name: string }[] = [];

/** Claims the paths `owns` accepts for the surface `name`, for the answers no route of the group gives. */
export function claimPaths(name: string, owns: (path: string) => boolean): void {
  pathSurfaces.push({ owns, name });
}

/** The filter of the surface the request was routed to, if its group declared one (or claimed its path). */
export function surfaceFilterOf(host: ArgumentsHost): ExceptionFilter | undefined {
  const request = host.switchToHttp().getRequest<FastifyRequest>();
  const name = (request.routeOptions?.config as { errorSurface?: string } | undefined)?.errorSurface;
  if (name) return surfaces.get(name);
  const path = request.url.split('?')[0];
  const claimed = pathSurfaces.find((p) => p.owns(path));
  return claimed ? surfaces.get(claimed.name) : undefined;
}
