import type { FastifyRequest } from 'fastify';
import type { CommentScope } from '../../../core/dialects/kickfolio/apps.js';
import { queryList, queryString } from '../bodies.js';
import { fromDomainError } from '../errors.js';
import type { KickfolioContext } from '../context.js';
import { presentComment } from '../present.js';
import { bodies, responses } from '../schemas.js';

type Params = { id?: string; version_id?: string };
type CommentBody = { version_id?: string | null; body?: string | null };

/**
 * Comments on versions, at `/versions/:version_id/comments` and, for Ember Data's bulk loading
 * of a version's `comment_ids`, at `/comments` (`ids[]` and `version_id` filters): list, fetch,
 * create, delete.
 */
export function commentRoutes(k: KickfolioContext): void {
  const { core } = k;
  const params = (request: FastifyRequest) => request.params as Params;
  const scopeOf = (request: FastifyRequest): CommentScope => {
    const version = params(request).version_id;
    return version === undefined ? {} : { version };
  };

  for (const base of ['/comments', '/versions/:version_id/comments']) {
    k.route({
      method: 'GET',
      url: base,
      resource: 'Comment',
      schema: { response: responses.comments },
      handler: async (request) => {
        const versionId = queryString(request.query, 'version_id') || undefined;
        const ids = queryList(request.query, 'ids');
        const comments = await core.apps
          .listComments(k.user(request), { ...(versionId !== undefined ? { versionId } : {}), ...(ids !== undefined ? { ids } : {}) }, scopeOf(request))
          .catch((err) => fromDomainError(err, 'Comment'));
        return { comments: comments.map(presentComment) };
      },
    });

    k.route({
      method: 'POST',
      url: base,
      resource: 'Comment',
      root: 'comment',
      schema: { body: bodies.comment, response: responses.createdComment },
      handler: async (request, reply) => {
        const body = request.body as CommentBody;
        const comment = await core.apps
          .createComment(k.user(request), { versionId: body.version_id, body: body.body }, scopeOf(request))
          .catch((err) => fromDomainError(err, 'Comment'));
        return reply.status(201).send({ comment: presentComment(comment) });
      },
    });

    k.route({
      method: 'GET',
      url: `${base}/:id`,
      resource: 'Comment',
      schema: { response: responses.comment },
      handler: async (request) => {
        const comment = await core.apps.getComment(k.user(request), params(request).id!, scopeOf(request)).catch((err) => fromDomainError(err, 'Comment'));
        return { comment: presentComment(comment) };
      },
    });

    k.route({
      method: 'DELETE',
      url: `${base}/:id`,
      resource: 'Comment',
      handler: async (request, reply) => {
        await core.apps.deleteComment(k.user(request), params(request).id!, scopeOf(request)).catch((err) => fromDomainError(err, 'Comment'));
        return reply.status(204).send();
      },
    });
  }
}
