import { ValidationError, type FieldErrors } from '../kernel/errors.js';
import type { ChatRate } from './rate.js';

/** The chat's limits, from the configuration. */
export interface ChatSettings {
  /** Longest message text, in characters (after trimming). */
  maxLength: number;
  /** How often one account may post to one stream's chat. */
  rate: ChatRate;
  /** Messages a chat socket is sent when it opens. */
  historyLimit: number;
  /** Seconds between viewer-count messages of a stream live on this node; 0: none. */
  viewcountInterval: number;
  /** Bytes a chat socket may leave unsent before it is dropped as too slow. */
  socketBuffer: number;
}

export const DEFAULT_CHAT_SETTINGS: ChatSettings = {
  maxLength: 500,
  rate: { messages: 5, seconds: 10 },
  historyLimit: 50,
  viewcountInterval: 15,
  socketBuffer: 1024 * 1024,
};

/** The most messages one history read returns. */
export const MAX_HISTORY = 1000;

/** Limits of the other fields of an injected message, in characters. */
export const INJECTION_LIMITS = {
  network: 64,
  fromName: 128,
  picture: 2048,
  /** An SVG image. */
  networkIcon: 16384,
  networkIconCss: 1024,
} as const;

/** A markdown rendering carries its text plus markup: it may be this many times longer. */
export const MARKDOWN_FACTOR = 4;

export type PostType = 'text' | 'emote';

export interface PostInput {
  type: PostType;
  text: string;
}

/** A checked injected message (`POST /stream/:id/msg`). */
export interface Injection {
  type: PostType;
  text: string;
  network: string;
  networkIcon: string | null;
  networkIconCss: string | null;
  fromName: string;
  fromPicture: string | null;
  markdown: string | null;
}

/** Characters as people count them (code points), not UTF-16 units. */
function length(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a field that must be a non-empty string (trimmed) of at most `max` characters. */
function requiredText(value: unknown, field: string, max: number, errors: FieldErrors): string {
  if (value === undefined || value === null) {
    errors[field] = 'is required';
    return '';
  }
  if (typeof value !== 'string') {
    errors[field] = 'must be a string';
    return '';
  }
  const text = value.trim();
  if (text === '') errors[field] = 'must not be empty';
  else if (length(text) > max) errors[field] = `must be at most ${max} characters`;
  return text;
}

/** Reads a field that may be absent or null, else a string of at most `max` characters. */
function optionalText(value: unknown, field: string, max: number, errors: FieldErrors): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    errors[field] = 'must be a string';
    return null;
  }
  if (length(value) > max) errors[field] = `must be at most ${max} characters`;
  return value.trim() === '' ? null : value;
}

function readType(value: unknown, errors: FieldErrors): PostType {
  if (value === 'text' || value === 'emote') return value;
  errors.type = value === undefined || value === null ? 'is required' : 'must be "text" or "emote"';
  return 'text';
}

function fail(what: string, errors: FieldErrors): never {
  const detail = Object.entries(errors)
    .map(([field, problem]) => `${field} ${problem}`)
    .join('; ');
  throw new ValidationError(`Invalid ${what}: ${detail}`, errors);
}

/** A message a user posts: its type, and its text trimmed and within the length limit. */
export function readPost(input: unknown, maxLength: number): PostInput {
  const errors: FieldErrors = {};
  if (!isObject(input)) fail('chat message', { message: 'must be an object with type and text' });
  const type = readType(input.type, errors);
  const text = requiredText(input.text, 'text', maxLength, errors);
  if (Object.keys(errors).length > 0) fail('chat message', errors);
  return { type, text };
}

/** An injected message: Multistreamer's `/msg` body (network, from.name, type, text; optional icon, picture, markdown). */
export function readInjection(body: unknown, maxLength: number): Injection {
  const errors: FieldErrors = {};
  if (!isObject(body)) fail('message', { body: 'must be a JSON object' });
  const network = requiredText(body.network, 'network', INJECTION_LIMITS.network, errors);
  const from = body.from;
  let fromName = '';
  let fromPicture: string | null = null;
  if (!isObject(from)) {
    errors.from = from === undefined || from === null ? 'is required' : 'must be an object';
  } else {
    fromName = requiredText(from.name, 'from.name', INJECTION_LIMITS.fromName, errors);
    fromPicture = optionalText(from.picture, 'from.picture', INJECTION_LIMITS.picture, errors);
    // A picture is shown as an image: only a web address, never javascript: or data: URLs.
    if (fromPicture !== null && !errors['from.picture'] && !isWebUrl(fromPicture.trim())) {
      errors['from.picture'] = 'must be an http:// or https:// URL';
    }
  }
  const type = readType(body.type, errors);
  const text = requiredText(body.text, 'text', maxLength, errors);
  const networkIcon = optionalText(body.network_icon, 'network_icon', INJECTION_LIMITS.networkIcon, errors);
  const networkIconCss = optionalText(body.network_icon_css, 'network_icon_css', INJECTION_LIMITS.networkIconCss, errors);
  const markdown = optionalText(body.markdown, 'markdown', maxLength * MARKDOWN_FACTOR, errors);
  if (Object.keys(errors).length > 0) fail('message', errors);
  return { type, text, network, networkIcon, networkIconCss, fromName, fromPicture: fromPicture?.trim() ?? null, markdown };
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A history length asked for: a whole number from 1 to MAX_HISTORY. */
export function readHistoryLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
    throw new ValidationError(`Invalid history limit: must be a whole number from 1 to ${MAX_HISTORY}`, { limit: `must be 1 to ${MAX_HISTORY}` });
  }
  return limit;
}
