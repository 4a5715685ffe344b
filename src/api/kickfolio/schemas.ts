/**
 * JSON schemas of Kickfolio's request attributes (after a root wrapper is taken off) and of its
 * answers. Bodies are checked for types only (every attribute a string or null); what a value
 * must be is the core's rule. Unknown attributes are ignored: ActiveResource and Ember Data
 * send whole records back, read-only fields included. Response schemas keep the field order.
 */
const text = { type: ['string', 'null'] } as const;

function attributes(...fields: string[]) {
  return { type: 'object', properties: Object.fromEntries(fields.map((f) => [f, text])) } as const;
}

export const bodies = {
  app: attributes('name'),
  version: attributes('app_id', 'bundle_url', 'version_string'),
  comment: attributes('version_id', 'body'),
};

const string = { type: 'string' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const ids = { type: 'array', items: string } as const;

function object(properties: Record<string, object>) {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false } as const;
}

const app = object({
  id: string,
  user_id: string,
  name: string,
  public_key: string,
  bundle: nullableString,
  default_to_landscape: { type: 'boolean' },
  icon: nullableString,
  device_type: nullableString,
  created_at: string,
  updated_at: string,
  versions: ids,
  version_ids: ids,
});

const version = object({
  id: string,
  app_id: string,
  state: string,
  bundle_url: string,
  version_string: nullableString,
  default_image: nullableString,
  default_image_landscape: nullableString,
  created_at: string,
  updated_at: string,
  comments: ids,
  comment_ids: ids,
  icon: nullableString,
  bundle: nullableString,
  display_name: nullableString,
  device_type: nullableString,
  failure_reason: nullableString,
});

const comment = object({
  id: string,
  version_id: string,
  user_id: string,
  body: string,
  created_at: string,
  updated_at: string,
});

function rooted(status: number, root: string, schema: object) {
  return { [status]: object({ [root]: schema }) };
}

export const responses = {
  apps: rooted(200, 'apps', { type: 'array', items: app }),
  app: rooted(200, 'app', app),
  createdApp: rooted(201, 'app', app),
  versions: rooted(200, 'versions', { type: 'array', items: version }),
  version: rooted(200, 'version', version),
  createdVersion: rooted(201, 'version', version),
  comments: rooted(200, 'comments', { type: 'array', items: comment }),
  comment: rooted(200, 'comment', comment),
  createdComment: rooted(201, 'comment', comment),
};
