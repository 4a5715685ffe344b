import { ValidationError } from '../../core/kernel/errors.js';

/**
 * Reading Kickflip request fields. The SDKs post form-encoded bodies (every value a string:
 * `true`, `37.42`, `extra_info` as JSON text); other clients post JSON with real numbers and
 * booleans. Both are read the same way, and an empty value counts as absent: iOS posts its
 * whole stream model back, its unset fields as empty values.
 */
export type Fields = Readonly<Record<string, unknown>>;

/** The body of a request as fields: an object, or nothing. */
export function fieldsOf(body: unknown): Fields {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Fields) : {};
}

/** Parses a request body by its content type: JSON, or form encoding (also for an unnamed type). */
export function parseBody(text: string, contentType: string | undefined): Fields {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') return {};
  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ValidationError('The body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ValidationError('The body must be a JSON object');
    return parsed as Fields;
  }
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) out[name] = value;
  return out;
}

function invalid(name: string, problem: string): ValidationError {
  return new ValidationError(`Invalid ${name}`, { [name]: problem });
}

/** A text field; numbers and booleans are taken as their text. Empty is absent. */
export function text(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalid(name, 'must be text');
}

/** Like text, but a JSON object or array is kept as its JSON text (extra_info is JSON in a string). */
export function jsonText(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return text(fields, name);
}

const NUMBER = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

export function number(fields: Fields, name: string): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && NUMBER.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed)) throw invalid(name, 'must be a number');
  return parsed;
}

export function integer(fields: Fields, name: string): number | undefined {
  const value = number(fields, name);
  if (value !== undefined && !Number.isSafeInteger(value)) throw invalid(name, 'must be a whole number');
  return value;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function boolean(fields: Fields, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
  }
  throw invalid(name, 'must be true or false');
}

/** A latitude/longitude pair: both or neither. */
export function location(fields: Fields, lat: string, lon: string): { latitude: number; longitude: number } | undefined {
  const latitude = number(fields, lat);
  const longitude = number(fields, lon);
  if (latitude === undefined && longitude === undefined) return undefined;
  if (latitude === undefined || longitude === undefined) throw new ValidationError('Invalid location', { [latitude === undefined ? lat : lon]: `is needed with ${latitude === undefined ? lon : lat}` });
  return { latitude, longitude };
}
