import type { FastifyPluginAsync } from 'fastify';
import { RigCode, RigError, success } from '../envelope.js';
import { fromDomainError } from '../errors.js';
import type { RigContext } from '../context.js';
import { rigDestination } from '../present.js';
import { rigRoute } from '../route-list.js';
import { responses } from '../schemas.js';

/**
 * `/agents`: what an edge agent (nginx-rtmp with `push` lines) asks when an encoder publishes.
 * rig never enforced agent auth and its agent sends none; the stream key in the path, a
 * 128-bit secret, is what authorizes the lookup.
 */
export const agentRoutes: FastifyPluginAsync<{ rig: RigContext }> = async (app, { rig }) => {
  app.get<{ Params: { streamKey: string } }>(
    '/config/:streamKey',
    rigRoute('Get destinations for a given stream key', { schema: { response: responses.destinations } }),
    async (request) => {
      const plan = await rig.core.streams.relayPlan(request.params.streamKey).catch((err) =>
        fromDomainError(err, {
          notFound: new RigError(RigCode.FetchFailed, 'Invalid stream key'),
          disabled: new RigError(RigCode.FetchFailed, 'Stream is not active'),
          inUse: new RigError(RigCode.InUse, 'Stream is already live'),
        }),
      );
      return success('Stream Config', plan.destinations.map(rigDestination));
    },
  );
};
