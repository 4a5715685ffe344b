/**
 * JSON schemas of rig's success responses: they make serialization fast and keep fields in
 * rig's order. Request bodies are read as rig reads them (requests.ts, validation.ts).
 */
const destination = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    service: { type: 'string' },
    streamKey: { type: 'string' },
    rtmpUrl: { type: 'string' },
    isActive: { type: 'boolean' },
  },
  required: ['id', 'service', 'streamKey', 'rtmpUrl', 'isActive'],
} as const;

const relayStatus = {
  type: 'object',
  properties: {
    state: { type: 'string' },
    lastError: { type: ['string', 'null'] },
    bytesSent: { type: 'integer' },
    reconnects: { type: 'integer' },
    since: { type: 'string' },
  },
  required: ['state', 'lastError', 'bytesSent', 'reconnects', 'since'],
} as const;

const destinationWithStatus = {
  ...destination,
  properties: { ...destination.properties, status: relayStatus },
} as const;

function streamOf(destinationItem: object) {
  return {
    type: 'object',
    properties: {
      id: { type: 'string' },
      streamKey: { type: 'string' },
      destinations: { anyOf: [{ type: 'array', items: destinationItem }, { type: 'null' }] },
      provisionStatus: { type: 'null' },
      isStreaming: { type: 'boolean' },
      isActive: { type: 'boolean' },
    },
    required: ['id', 'streamKey', 'destinations', 'provisionStatus', 'isStreaming', 'isActive'],
  } as const;
}

const stream = streamOf(destination);
const streamDetail = streamOf(destinationWithStatus);

function envelope(payload: object) {
  return {
    200: {
      type: 'object',
      properties: { message: { type: 'string' }, payload },
      required: ['message', 'payload'],
    },
  } as const;
}

function stringsObject(...fields: string[]) {
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f, { type: 'string' }])),
    required: fields,
  } as const;
}

export const responses = {
  routes: envelope({ type: 'array', items: { type: 'string' } }),
  account: envelope(stringsObject('userID', 'username', 'email')),
  auth: envelope(stringsObject('username', 'token')),
  password: envelope(stringsObject('username')),
  invite: envelope(stringsObject('email', 'token')),
  inviteVerified: envelope(stringsObject('email')),
  stream: envelope(stream),
  streamDetail: envelope(streamDetail),
  streams: envelope({ type: 'array', items: stream }),
  destination: envelope(destination),
  destinations: envelope({ type: 'array', items: destination }),
  newKey: envelope(stringsObject('key', 'streamID')),
};
