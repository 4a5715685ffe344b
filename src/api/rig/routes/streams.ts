import type { FastifyPluginAsync } from 'fastify';
import { RigCode, RigError, success } from '../envelope.js';
import { fromDomainError } from '../errors.js';
import type { RigContext } from '../context.js';
import { rigDestination, rigStream, rigStreamDetail } from '../present.js';
import { bodies, responses } from '../schemas.js';

interface StreamParams {
  streamID: string;
}

/** Another user's stream, a stream that does not exist and a malformed id all get this answer. */
const invalidStream = () => new RigError(RigCode.InvalidInput, 'Invalid stream ID');

/** `/streams`: a user's streams, their keys and destinations. */
export const streamRoutes: FastifyPluginAsync<{ rig: RigContext }> = async (app, { rig }) => {
  const { core } = rig;

  app.get('/', { schema: { response: responses.streams } }, async (request) => {
    const user = await rig.authenticate(request);
    const streams = await core.streams.listOwned(user.accountId);
    return success('Stream list for user', streams.map(rigStream));
  });

  app.post('/', { schema: { response: responses.stream } }, async (request) => {
    const user = await rig.authenticate(request);
    const stream = await core.streams.create(user.accountId).catch((err) => fromDomainError(err, {}));
    return success('New stream created', rigStream(stream));
  });

  app.get<{ Params: StreamParams }>('/:streamID', { schema: { response: responses.streamDetail } }, async (request) => {
    const user = await rig.authenticate(request);
    const stream = await core.streams
      .getOwned(user.accountId, request.params.streamID)
      .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
    return success('Stream detail', rigStreamDetail(stream, (d) => core.relays.get(d.id, d.streamId)));
  });

  app.post<{ Params: StreamParams; Body: { service: string; streamKey: string } }>(
    '/:streamID/destination',
    { schema: { body: bodies.addDestination, response: responses.destination } },
    async (request) => {
      const user = await rig.authenticate(request);
      const destination = await core.streams
        .addDestination(user.accountId, request.params.streamID, request.body)
        .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
      return success('Stream destination added', rigDestination(destination));
    },
  );

  app.post<{ Params: StreamParams }>(
    '/:streamID/changeKey',
    { schema: { response: responses.newKey } },
    async (request) => {
      const user = await rig.authenticate(request);
      const stream = await core.streams
        .changeKey(user.accountId, request.params.streamID)
        .catch((err) => fromDomainError(err, { notFound: invalidStream() }));
      return success('New stream key', { key: stream.key, streamID: stream.id });
    },
  );
};
