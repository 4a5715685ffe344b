import type { ApiClient } from './oauth-clients.js';
import type { CoreContext } from '../../kernel/context.js';
import { ConflictError } from '../../kernel/errors.js';
import type { TenantStreamService } from './tenant-streams.js';
import type { TenantUser } from './tenant-users.js';

/** Reports of inappropriate streams (Kickflip's stream/flag): each user flags a stream once. */
export class StreamFlagService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly streams: TenantStreamService,
  ) {}

  /** Flags a stream the user can see; returns how many users have flagged it. */
  async flag(client: ApiClient, user: TenantUser, streamId: string): Promise<number> {
    const stream = await this.streams.visible(client, streamId, user);
    if (!(await this.ctx.store.streamFlags.insertOnce(stream.id, user.id, this.ctx.now()))) {
      throw new ConflictError('You have already flagged this stream', { stream_id: 'is already flagged by this user' });
    }
    return this.ctx.store.streamFlags.count(stream.id);
  }
}
