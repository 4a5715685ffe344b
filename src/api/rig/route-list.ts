import type { FastifyContextConfig } from 'fastify';
import { routePattern } from '../http.js';

/** What each rig route declares besides its handler (in Fastify's route config, beside what plugins keep there). */
interface RigRouteConfig extends FastifyContextConfig {
  /** rig's own description of the route, as `GET /` lists it. */
  description: string;
}

/**
 * The options every rig route is registered with: its description, and no automatic HEAD
 * route, since rig's router has none (HEAD answers 405 there).
 */
export function rigRoute<O extends object>(
  description: string,
  options: O = {} as O,
): O & { exposeHeadRoute: false; config: RigRouteConfig } {
  return { ...options, exposeHeadRoute: false, config: { description } };
}

/** A route as Fastify's `onRoute` hook announces it. */
interface AnnouncedRoute {
  method: string | string[];
  url: string;
  routePath: string;
  config?: unknown;
}

interface ListedRoute {
  method: string;
  url: string;
  description: string;
  pattern: RegExp;
}

/**
 * The routes of a mounted rig API, in the order they were registered: for `GET /`, for 404
 * against 405, and for the methods a CORS preflight may ask for.
 */
export class RigRouteList {
  private readonly routes: ListedRoute[] = [];

  /** Files a route as Fastify announces it (`onRoute`); a route without a description is a mistake. */
  add(route: AnnouncedRoute): void {
    const description = (route.config as Partial<RigRouteConfig> | undefined)?.description;
    if (description === undefined) throw new Error(`rig route ${[route.method].flat().join(',')} ${route.url} has no description`);
    // Fastify files the root route of a prefix (`/` under `/streams`) as `/streams`; rig writes it `/streams/`.
    const url = route.routePath === '' ? `${route.url}/` : route.url;
    for (const method of [route.method].flat()) {
      this.routes.push({ method, url, description, pattern: routePattern(url) });
    }
  }

  /** The methods served at a requested path; none for a path rig does not know. */
  methodsAt(path: string): string[] {
    return [...new Set(this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
  }

  /** Each route as rig lists it: `METHOD /path/{param} - description`. */
  listing(): string[] {
    return this.routes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')} - ${r.description}`);
  }
}
