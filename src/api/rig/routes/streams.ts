import type { FastifyPluginAsync } from 'fastify';
import { RigCode, RigError, success } from '../envelope.js';
import { fromDomainError } from '../errors.js';
import type { RigContext } from '../context.js';
import { rigDestination, rigStream, rigStreamDetail } from '../present.js';
import { requests } from '../requests.js';
import { rigRoute } from '../route-list.js';
import { responses } from '../schemas.js';
import { invalidFields, readBody } from '../validation.js';

interface StreamParams {
  streamID: string;
}

/**
 * Another user's stream, a stream that does not exist and a malformed id all get rig's answer
 * to another user's stream, so that an id tells nothing about streams that are not yours.
 */
const invalidStream = () => new RigError(RigCode.InvalidInput);

/** `/streams`: a user's streams, their keys and destinations. */
export const streamRoutes: FastifyPluginAsync<{ rig: RigContext }> = async (app, { rig }) => {
  const { core } = rig;

  app.post('/', rigRoute('Create new stream for current user', { schema: { response: responses.stream } }), async (request) => {
    const user = await rig.authenticate(request);
    const stream = await core.streams.create(user.accountId).catch((err) => fromDomainError(err, {}));
    return success('New stream created', rigStream(stream));
  });

  app.get('/', rigRoute('Get all streams configured for current user', { schema: { response: responses.streams } }), async (request) => {
    const user = await rig.authenticate(request);
    const streams = await core.streams.listOwned(user.accountId);
    return success('Stream list for user', streams.map(rigStream));
  });

  app.get<{ Params: StreamParams }>(
    '/:streamID',
    rigRoute('Get details of specific stream', { schema: { response: responses.streamDetail } }),
    async (request) => {
      const user = await rig.authenticate(request);
      const stream = await core.streams
        .getOwned(user.accountId, request.params.streamID)
        .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
      return success('Stream detail', rigStreamDetail(stream, (d) => core.relays.get(d.id, d.streamId)));
    },
  );

  app.post<{ Params: StreamParams }>(
    '/:streamID/destination',
    rigRoute('Add a destination for a stream', { schema: { response: responses.destination } }),
    async (request) => {
      const user = await rig.authenticate(request);
      // rig looks at the stream before it reads the body.
      await core.streams
        .getOwned(user.accountId, request.params.streamID)
        .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
      const { Service, StreamKey } = readBody(request.body, requests.streamAddDestination);
      const destination = await core.streams
        .addDestination(user.accountId, request.params.streamID, { service: Service, streamKey: StreamKey })
        .catch((err) =>
          fromDomainError(err, {
            notFound: invalidStream(),
            // A service rig does not know (names are case-sensitive) cannot be added, as rig says it;
            // a key the platform cannot use is refused as invalid input, naming StreamKey.
            invalid: (e) =>
              e.fields.service !== undefined
                ? new RigError(RigCode.CreateFailed, 'Unable to add destination to stream')
                : invalidFields(e.fields),
          }),
        );
      return success('Stream destination added', rigDestination(destination));
    },
  );

  app.post<{ Params: StreamParams }>(
    '/:streamID/changeKey',
    rigRoute('Update streaming key for an existing stream', { schema: { response: responses.newKey } }),
    async (request) => {
      const user = await rig.authenticate(request);
      const stream = await core.streams
        .changeKey(user.accountId, request.params.streamID)
        .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
      return success('New stream key', { key: stream.key, streamID: stream.id });
    },
  );
};
