import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../kernel/context.js';
import { isUuid } from '../kernel/ids.js';
import { KeptAnswers } from './kept-answers.js';
import { signViewerToken, verifyViewerToken } from './viewer-tokens.js';

/** How long a token minted by the server after an admission stays valid. */
export const ADMISSION_TOKEN_TTL_MS = 6 * 60 * 60 * 1000;

/**
 * Who may watch a stream: anyone, for a public stream; for a private one, whoever holds a
 * viewer token signed with the secret of the stream's site (or the server's own, for streams
 * of the platform's accounts). A stream (or a recording) whose playback ids are all `signed`
 * is private on every other path too (the HLS paths by id, RTMP play, the watch page): a
 * signed playback id is only worth its token if nothing else plays the same media.
 */
/** What viewing asks of a stream on every playlist and segment request. */
interface StreamFacts {
  id: string;
  tenant: string;
  /** Private, or every playback id of it is signed. */
  isPrivate: boolean;
}

export class ViewingService {
  private serverSecret: Promise<string> | undefined;
  /** By stream id: whether it is private (or plays by signed ids only), kept until something changes. */
  private readonly streams: KeptAnswers<StreamFacts>;
  /** By broadcast id: whether its recording plays by signed playback ids only. */
  private readonly recordings: KeptAnswers<boolean>;

  constructor(private readonly ctx: CoreContext) {
    this.streams = new KeptAnswers(ctx);
    this.recordings = new KeptAnswers(ctx);
  }

  private facts(streamId: string): Promise<StreamFacts | undefined> {
    const id = streamId.toLowerCase();
    return this.streams.get(id, async () => {
      const stream = await this.ctx.store.streams.findById(id);
      return stream ? { id: stream.id, tenant: stream.tenant, isPrivate: stream.is_private === 1 || (await this.onlySigned({ streamId: stream.id })) } : undefined;
    });
  }

  private async secretFor(tenant: string): Promise<string> {
    if (tenant !== '') {
      const site = await this.ctx.store.apiClients.findById(tenant);
      if (site?.secret) return site.secret;
    }
    this.serverSecret ??= this.ctx.store.settings.getOrInit('secret:viewer-token', randomBytes(32).toString('base64url'));
    return this.serverSecret;
  }

  /** Whether the stream is private; undefined when there is no such stream. */
  async isPrivate(streamId: string): Promise<boolean | undefined> {
    if (!isUuid(streamId)) return undefined;
    return (await this.facts(streamId))?.isPrivate;
  }

  /** Whether a broadcast's recording plays only by signed playback ids (it has ids, none public). */
  async recordingIsPrivate(broadcastId: string): Promise<boolean> {
    if (!isUuid(broadcastId)) return false;
    const id = broadcastId.toLowerCase();
    return (await this.recordings.get(id, () => this.onlySigned({ broadcastId: id }))) === true;
  }

  private async onlySigned(target: { streamId: string } | { broadcastId: string }): Promise<boolean> {
    const policies = await this.ctx.store.playbackIds.policiesOf(target);
    return policies.length > 0 && !policies.includes('public');
  }

  async mayWatch(streamId: string, token: string | undefined): Promise<boolean> {
    if (!isUuid(streamId)) return false;
    const stream = await this.facts(streamId);
    if (!stream) return false;
    if (!stream.isPrivate) return true;
    if (token === undefined) return false;
    return verifyViewerToken(await this.secretFor(stream.tenant), stream.id, token, Date.parse(this.ctx.now()));
  }

  /** A token for an admitted viewer of the stream. */
  async mintToken(streamId: string, ttlMs = ADMISSION_TOKEN_TTL_MS): Promise<string | undefined> {
    const stream = isUuid(streamId) ? await this.ctx.store.streams.findById(streamId.toLowerCase()) : undefined;
    if (!stream) return undefined;
    return signViewerToken(await this.secretFor(stream.tenant), stream.id, Date.parse(this.ctx.now()) + ttlMs);
  }
}
