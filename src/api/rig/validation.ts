import { Buffer } from 'node:buffer';
import type { FieldErrors } from '../../core/kernel/errors.js';
import { RigCode, RigError } from './envelope.js';

/**
 * How rig reads a request body, so that its clients see the answers they were written against.
 * rig's Go server decodes each body with encoding/json into a struct of string fields, then
 * checks the struct's `validate` tags with gopkg.in/validator.v2:
 * - what the decoder refuses (no body, malformed JSON, a body that is not an object, a field of
 *   another JSON type) is 400/1005 "Invalid input" without `details`;
 * - what the validator refuses is 400/1005 "Invalid input" with `details`: an object keyed by
 *   the Go field names (in Go's sorted map order), each the list of failed rules in the
 *   validator's words, in the order of the tag.
 */

/** One rule of a validator.v2 tag as rig's structs use them. */
type Rule = { name: 'nonzero' } | { name: 'min' | 'max'; limit: number };

/** What each rule's error marshals to in JSON. */
const WORDS: Record<Rule['name'], string> = {
  nonzero: 'zero value',
  min: 'less than min',
  max: 'greater than max',
};

/** A rig request struct: its Go field names, each with the rules of its `validate` tag. */
export type RequestStruct<F extends string> = { readonly [K in F]: readonly Rule[] };

function parseRule(rule: string): Rule {
  const [name, param] = rule.split('=') as [string, string | undefined];
  if (name === 'nonzero' && param === undefined) return { name };
  if ((name === 'min' || name === 'max') && param !== undefined && /^\d+$/.test(param)) return { name, limit: Number(param) };
  throw new Error(`Unsupported validate rule: ${rule}`);
}

/** A request struct written as rig's Go source writes it: `{ Username: 'min=3,max=64' }`. */
export function requestStruct<F extends string>(tags: Record<F, string>): RequestStruct<F> {
  const struct = {} as Record<F, readonly Rule[]>;
  for (const field of Object.keys(tags) as F[]) struct[field] = tags[field].split(',').map(parseRule);
  return struct;
}

/** rig's JSON names are its Go field names with a lower-case first letter (`OldPassword` → `oldPassword`). */
function jsonName(goField: string): string {
  return goField.charAt(0).toLowerCase() + goField.slice(1);
}

function goFieldName(jsonField: string): string {
  return jsonField.charAt(0).toUpperCase() + jsonField.slice(1);
}

/**
 * Go's case folding of a JSON key against a field name: ASCII letters in any case, plus the
 * two letters that fold to ASCII ones (ſ to s, the Kelvin sign to k).
 */
function folded(name: string): string {
  return [...name].map((c) => (c === '\u017f' ? 's' : c === '\u212a' ? 'k' : /^[A-Z]$/.test(c) ? c.toLowerCase() : c)).join('');
}

/** The field a JSON key fills, as encoding/json picks it: the exact name first, else a case-insensitive match. */
function fieldFor<F extends string>(key: string, fields: readonly F[]): F | undefined {
  return fields.find((f) => jsonName(f) === key) ?? fields.find((f) => folded(jsonName(f)) === folded(key));
}

function undecodable(): RigError {
  return new RigError(RigCode.InvalidInput);
}

/** The body decoded into the struct's fields, or the decoder's refusal. */
function decode<F extends string>(raw: unknown, struct: RequestStruct<F>): Record<F, string> {
  // No body at all is the end of input to Go's decoder: a refusal like malformed JSON.
  if (typeof raw !== 'string') throw undecodable();
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw undecodable();
  }
  const fields = Object.keys(struct) as F[];
  const values = Object.fromEntries(fields.map((f) => [f, ''])) as Record<F, string>;
  // `null` decodes into the struct without touching it; its empty fields then meet the validator.
  if (value === null) return values;
  if (typeof value !== 'object' || Array.isArray(value)) throw undecodable();
  let wrongType = false;
  for (const [key, v] of Object.entries(value)) {
    const field = fieldFor(key, fields);
    // Unknown keys are skipped, and so is a null value, which leaves the field as it was.
    if (field === undefined || v === null) continue;
    if (typeof v === 'string') values[field] = v;
    else wrongType = true;
  }
  if (wrongType) throw undecodable();
  return values;
}

/** Whether a string breaks a rule; lengths are in UTF-8 bytes, as Go's len() counts them. */
function breaks(rule: Rule, value: string): boolean {
  switch (rule.name) {
    case 'nonzero':
      return value.length === 0;
    case 'min':
      return Buffer.byteLength(value, 'utf8') < rule.limit;
    case 'max':
      return Buffer.byteLength(value, 'utf8') > rule.limit;
  }
}

/** rig's 1005 with details, keys in the order Go's encoding/json writes a map's: sorted. */
function invalidInput(details: Record<string, string[]>): RigError {
  const sorted = Object.fromEntries(Object.entries(details).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Object.keys(sorted).length === 0 ? undecodable() : new RigError(RigCode.InvalidInput, undefined, sorted);
}

/**
 * A request body read as rig reads it into `struct`: decoded, then validated. What it returns
 * holds every field of the struct, an empty string for one the body left out.
 */
export function readBody<F extends string>(raw: unknown, struct: RequestStruct<F>): Record<F, string> {
  const values = decode(raw, struct);
  const details: Record<string, string[]> = {};
  for (const field of Object.keys(struct) as F[]) {
    const failed = struct[field].filter((rule) => breaks(rule, values[field])).map((rule) => WORDS[rule.name]);
    if (failed.length > 0) details[field] = failed;
  }
  if (Object.keys(details).length > 0) throw invalidInput(details);
  return values;
}

/**
 * A rule of the platform's own that rig's validator does not have (no spaces in a username, a
 * destination key fit for an RTMP URL) refused in the same shape: the core's reason as the one
 * word of the field.
 */
export function invalidFields(fields: FieldErrors): RigError {
  return invalidInput(Object.fromEntries(Object.entries(fields).map(([field, reason]) => [goFieldName(field), [reason]])));
}
