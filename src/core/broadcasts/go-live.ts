import { emit, type CoreContext } from '../kernel/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../kernel/errors.js';
import type { DomainEvent } from '../kernel/events.js';
import { isUuid, type StreamId } from '../kernel/ids.js';
import { NO_LOCAL_FILES, preparePullArgs, type PullSourcePolicy } from '../ffmpeg/pull-args.js';

/** Multistreamer's live state of a stream, as `PATCH /stream/:id` reports it. */
export interface GoLiveStatus {
  /** A publisher (an encoder or this server's puller) is connected. */
  dataIncoming: boolean;
  /** The relays to the stream's destinations are on. */
  dataPushing: boolean;
  /** A puller feeds the stream. */
  dataPulling: boolean;
}

/** How a stream goes live: whether it starts as a preview only, and what its puller reads. */
export interface GoLiveSettings {
  previewRequired: boolean;
  /** `ffmpeg_pull_args` as the user wrote them; null for none. */
  pullArgs: string | null;
}

/**
 * Where a stream's go-live settings come from. The settings belong to the dialect that lets
 * users set them (Multistreamer's `preview_required` and `ffmpeg_pull_args`); a stream with none
 * pushes at publish and has no puller.
 */
export type GoLiveSettingsOf = (streamId: StreamId) => Promise<GoLiveSettings | undefined>;

/**
 * "Go live after a preview" and the puller switch. The state is in the database, so any node
 * answers and switches it; the media plane follows the events:
 * - a broadcast of an ordinary stream (rig, StreamAPI, Kickflip, Multistreamer without
 *   `preview_required`) starts pushing at once;
 * - a broadcast of a `preview_required` stream starts as an HLS preview only, and pushes from
 *   `setPushing(true)` until `setPushing(false)` or its end;
 * - every switch is reported once: `stream.push_started` / `stream.push_stopped`, and
 *   `stream.pull_started` / `stream.pull_stopped`.
 */
export class GoLiveService {
  constructor(
    private readonly ctx: CoreContext,
    /** The node this core runs on: the one that runs a puller switched on here. */
    private readonly nodeId: string,
    /** Where pullers may read from (`--pull-file-dir`, `--allow-private-fetch`). */
    private readonly pullPolicy: PullSourcePolicy = NO_LOCAL_FILES,
    private readonly settingsOf: GoLiveSettingsOf = async () => undefined,
  ) {
    // Broadcasts start and end in several places (RTMP publish, uploads, node recovery); the
    // events are the one place to hang the rules on, once per broadcast in the cluster.
    ctx.observers?.add((event) => this.observe(event));
  }

  async status(streamId: StreamId): Promise<GoLiveStatus> {
    const state = await this.state(streamId);
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    return {
      dataIncoming: open?.publishing === 1,
      dataPushing: state.pushing && open !== undefined,
      dataPulling: state.pulling,
    };
  }

  /** Whether the stream's relays should run now (the media plane asks at publish). */
  async isPushing(streamId: StreamId): Promise<boolean> {
    return (await this.status(streamId)).dataPushing;
  }

  /**
   * Go live (relays on) or stop (relays off). Going live needs a broadcast in progress: there
   * is nothing to push otherwise (ConflictError). Switching to the state it is in changes nothing.
   */
  async setPushing(streamId: StreamId, on: boolean): Promise<GoLiveStatus> {
    await this.state(streamId);
    if (on) await this.checkPushStart(streamId);
    await this.switchPushing(streamId, on);
    return this.status(streamId);
  }

  /**
   * Both switches of one request (`PATCH {data_pulling, data_pushing}`): every refusal is
   * found before either switch moves, so a refused request changes nothing (not a puller
   * left running because going live was then refused).
   */
  async setSwitches(streamId: StreamId, switches: { pushing?: boolean; pulling?: boolean }): Promise<GoLiveStatus> {
    const state = await this.state(streamId);
    const startPuller = switches.pulling === true && !state.pulling;
    if (startPuller) await this.checkPullStart(streamId);
    if (switches.pushing === true) await this.checkPushStart(streamId);
    if (startPuller || switches.pulling === false) await this.switchPulling(streamId, switches.pulling!);
    if (switches.pushing !== undefined) await this.switchPushing(streamId, switches.pushing);
    return this.status(streamId);
  }

  /**
   * Starts or stops the stream's puller. Starting needs valid `ffmpeg_pull_args`
   * (ValidationError) and no other publisher (ConflictError); this node runs the puller.
   */
  async setPulling(streamId: StreamId, on: boolean): Promise<GoLiveStatus> {
    const state = await this.state(streamId);
    if (!on || !state.pulling) {
      if (on) await this.checkPullStart(streamId);
      await this.switchPulling(streamId, on);
    }
    return this.status(streamId);
  }

  /** Moves the push switch (checks made by the caller); the event only when it moved. */
  private async switchPushing(streamId: StreamId, on: boolean): Promise<void> {
    if (!(await this.ctx.store.goLive.setPushing(streamId, on))) return;
    const at = this.ctx.now();
    await emit(this.ctx, on ? { type: 'stream.push_started', streamId, at } : { type: 'stream.push_stopped', streamId, at });
  }

  /** Moves the pull switch (checks made by the caller); this node runs a puller switched on. */
  private async switchPulling(streamId: StreamId, on: boolean): Promise<void> {
    if (!(await this.ctx.store.goLive.setPulling(streamId, on, on ? this.nodeId : null))) return;
    const at = this.ctx.now();
    await emit(this.ctx, on ? { type: 'stream.pull_started', streamId, nodeId: this.nodeId, at } : { type: 'stream.pull_stopped', streamId, at });
  }

  /** Going live needs a broadcast in progress: there is nothing to push otherwise. */
  private async checkPushStart(streamId: StreamId): Promise<void> {
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    if (!open) throw new ConflictError('The stream is not live: start publishing (or the puller) before going live');
  }

  /** A puller needs valid arguments and no other publisher. */
  private async checkPullStart(streamId: StreamId): Promise<void> {
    await this.pullArgs(streamId);
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    if (open?.publishing === 1) throw new ConflictError('The stream already has a publisher');
  }

  /**
   * The argv a puller of the stream runs now (every check made again: files, host addresses),
   * with the protocol whitelists; ValidationError when the stream has none or they are refused.
   */
  async pullArgs(streamId: StreamId): Promise<string[]> {
    const fields = await this.settingsOf(streamId);
    if (!fields?.pullArgs) throw new ValidationError('The stream has no ffmpeg_pull_args', { ffmpeg_pull_args: 'must be set to start a puller' });
    return preparePullArgs(fields.pullArgs, this.pullPolicy);
  }

  /** Checks `ffmpeg_pull_args` being set (ValidationError says what is refused). */
  async checkPullArgs(text: string): Promise<void> {
    await preparePullArgs(text, this.pullPolicy);
  }

  /** Switches off the pullers a node was running when it stopped (they died with it). */
  async recoverNode(nodeId: string): Promise<void> {
    for (const streamId of await this.ctx.store.goLive.pullingOnNode(nodeId)) await this.setPulling(streamId as StreamId, false);
  }

  private async state(streamId: StreamId): Promise<{ pushing: boolean; pulling: boolean }> {
    const state = isUuid(streamId) ? await this.ctx.store.goLive.state(streamId) : undefined;
    if (!state) throw new NotFoundError('No such stream');
    return state;
  }

  private async observe(event: DomainEvent): Promise<void> {
    if (event.type === 'broadcast.started') {
      const fields = await this.settingsOf(event.streamId);
      if (fields?.previewRequired) {
        // A preview starts with the relays off, whatever a crashed node left in the row.
        await this.ctx.store.goLive.setPushing(event.streamId, false);
        return;
      }
      if (await this.ctx.store.goLive.setPushing(event.streamId, true)) {
        await emit(this.ctx, { type: 'stream.push_started', streamId: event.streamId, at: event.at });
      }
    } else if (event.type === 'broadcast.ended') {
      if (await this.ctx.store.goLive.setPushing(event.streamId, false)) {
        await emit(this.ctx, { type: 'stream.push_stopped', streamId: event.streamId, at: event.at });
      }
    }
  }
}
