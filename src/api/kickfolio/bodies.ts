import { badRequest } from './errors.js';

/**
 * Request bodies as Kickfolio's clients send them: JSON, root-wrapped (`{"app": {...}}`, the
 * Jenkins plugin) or bare (ActiveResource may send either), and form fields with Rails-style
 * names (`version[bundle_url]`). xcoder posts form fields under a wrong `Content-Type:
 * application/json`, so a JSON-labelled body that is not JSON but reads as a form is taken as one.
 */

/** Keys that never reach an object: a body cannot set an object's prototype. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** `name=value&…`, the shape of a form body that claims to be JSON. */
const FORM_SHAPE = /^[A-Za-z0-9_.%[\]-]+=[^\s]*(&[A-Za-z0-9_.%[\]-]+=[^\s]*)*$/;
const MAX_FORM_DEPTH = 3;

export type Body = Record<string, unknown>;

function refuseForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw badRequest(`The body has a forbidden key ${JSON.stringify(key)}`);
  return value;
}

function isPlainObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Form fields as nested objects: `a=1`, `a[b]=1`, `a[]=1&a[]=2`, `a[b][]=1`. */
export function parseForm(text: string): Body {
  const out: Body = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!match) throw badRequest(`Malformed form field name ${JSON.stringify(key)}`);
    const path = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
    if (path.length > MAX_FORM_DEPTH) throw badRequest(`Form field ${JSON.stringify(key)} is nested too deeply`);
    if (path.some((p) => FORBIDDEN_KEYS.has(p))) throw badRequest(`The body has a forbidden key ${JSON.stringify(key)}`);
    let target: Body = out;
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      const last = i === path.length - 1;
      if (part === '') {
        if (!last) throw badRequest(`Malformed form field name ${JSON.stringify(key)}`);
        break;
      }
      const next = path[i + 1];
      if (last) {
        target[part] = value;
      } else if (next === '' && i + 1 === path.length - 1) {
        const list = target[part];
        if (Array.isArray(list)) list.push(value);
        else target[part] = [value];
        break;
      } else {
        const child = target[part];
        if (!isPlainObject(child)) target[part] = {};
        target = target[part] as Body;
      }
    }
  }
  return out;
}

/** Parses a request body by its type, sniffing JSON-labelled form bodies; an empty body is undefined. */
export function parseBody(text: string, contentType: string | undefined): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) return parseForm(trimmed);
  try {
    return JSON.parse(trimmed, refuseForbiddenKeys);
  } catch (err) {
    if (err instanceof Error && err.name === 'KickfolioError') throw err;
    if (FORM_SHAPE.test(trimmed)) return parseForm(trimmed);
    throw badRequest(contentType && /json/i.test(contentType) ? 'The body is not valid JSON' : 'The body is neither JSON nor form fields');
  }
}

/**
 * The attributes a body carries for `root`: `body[root]` when the body is wrapped, else the
 * body itself. Other top-level keys of a wrapped body (such as `auth_token`) are not attributes.
 */
export function attributes(body: unknown, root: string): Body {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw badRequest('The body must be a JSON object');
  if (!(root in body)) return body;
  const wrapped = body[root];
  if (!isPlainObject(wrapped)) throw badRequest(`"${root}" must be an object`);
  return wrapped;
}

/** A top-level string field of the body (where `auth_token` may be). */
export function topLevelString(body: unknown, key: string): string | undefined {
  if (!isPlainObject(body) || !Object.hasOwn(body, key)) return undefined;
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * An array filter from the query string: `ids[]=a&ids[]=b` (Ember Data, ActiveResource),
 * `ids=a&ids=b`, or `ids=a,b`; undefined when absent.
 */
export function queryList(query: unknown, name: string): string[] | undefined {
  if (!isPlainObject(query)) return undefined;
  const values = [query[`${name}[]`], query[name]].flat().filter((v) => v !== undefined);
  if (values.length === 0) return undefined;
  if (values.some((v) => typeof v !== 'string')) throw badRequest(`The ${name} parameter must be a list of strings`);
  return (values as string[]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** A single string parameter from the query string; undefined when absent. */
export function queryString(query: unknown, name: string): string | undefined {
  if (!isPlainObject(query) || query[name] === undefined) return undefined;
  const value = query[name];
  if (typeof value !== 'string') throw badRequest(`The ${name} parameter must be given once`);
  return value;
}
