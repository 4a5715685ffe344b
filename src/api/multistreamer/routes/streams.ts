import type { FastifyInstance } from 'fastify';
import { STREAM_NOT_USABLE, STREAM_NOT_VISIBLE } from '../../../core/dialects/multistreamer/multistreams.js';
import { liveSwitches, streamInput } from '../bodies.js';
import { idParam, type MsContext } from '../context.js';
import { streamJson } from '../present.js';

/** Streams: list (own and shared), one, create, update, delete, go-live control and chat injection. */
export function streamRoutes(app: FastifyInstance, { core, caller, publicUrl }: MsContext): void {
  const present = (view: Parameters<typeof streamJson>[0]) => streamJson(view, publicUrl);
  app.get('/stream', async (request) => ({ streams: (await core.multistreams.list(caller(request))).map(present) }));

  app.get('/stream/:id', async (request) => ({
    stream: present(await core.multistreams.get(caller(request), idParam(request, STREAM_NOT_VISIBLE))),
  }));

  app.post('/stream', async (request) => ({
    stream: present(await core.multistreams.create(caller(request), streamInput(request.body))),
  }));

  app.post('/stream/:id', async (request) => {
    const id = idParam(request, STREAM_NOT_USABLE);
    const input = streamInput(request.body);
    return { stream: present(await core.multistreams.update(caller(request), id, input)) };
  });

  app.delete('/stream/:id', async (request) => {
    await core.multistreams.remove(caller(request), idParam(request, STREAM_NOT_USABLE));
    return { status: 'success' };
  });

  // Going live, stopping, and the puller switch need metadata level 2, as in the original.
  app.patch('/stream/:id', async (request) => {
    const streamId = await core.multistreams.switchable(caller(request), idParam(request, STREAM_NOT_USABLE));
    const switches = liveSwitches(request.body);
    const status = await core.goLive.setSwitches(streamId, switches);
    return { status: { data_incoming: status.dataIncoming, data_pushing: status.dataPushing, data_pulling: status.dataPulling } };
  });

  // Injects a message into the stream's chat (not into the networks): chat level 2.
  app.post('/stream/:id/msg', async (request) => {
    const streamId = await core.multistreams.chatWritable(caller(request), idParam(request, STREAM_NOT_USABLE));
    await core.chat.inject(streamId, request.body);
    return { status: 'ok' };
  });
}
