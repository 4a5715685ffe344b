import type { FastifyContextConfig } from 'fastify';
import type { FastifyReply, FastifyRequest, FastifySchema, HTTPMethods } from 'fastify';
import type { Core } from '../../core/core.js';
import type { AccountId } from '../../core/kernel/ids.js';
import type { Resource } from './errors.js';

/** A route's own settings, kept in Fastify's route config (beside what plugins such as the OpenAPI generator keep there). */
export interface RouteConfig extends FastifyContextConfig {
  resource: Resource;
  /** The key a body may be wrapped in (`{"app": {...}}`). */
  root?: 'app' | 'version' | 'comment';
  /** Served without credentials (images, which an `<img>` fetches without them). */
  public?: boolean;
}

export interface KickfolioRoute extends RouteConfig {
  method: HTTPMethods;
  /** The path without `.json`; the suffixed path is routed too. */
  url: string;
  schema?: FastifySchema;
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/** What every Kickfolio route module is given. */
export interface KickfolioContext {
  core: Core;
  /** Where this API is reachable from outside: `<publicUrl>/api`. */
  base: string;
  route(route: KickfolioRoute): void;
  /** The caller, authenticated before the handler ran. */
  user(request: FastifyRequest): AccountId;
}
