import type { BlobStore } from '../../../blob/blob-store.js';
import type { VersionRow } from '../../../store/repositories/dialects/kickfolio.js';
import {
  deviceTypeOf,
  FAILURE_REASON_MAX,
  FILE_COLUMNS,
  NOTHING_PROCESSED,
  removeVersionFiles,
  VERSION_FILES,
  versionFileKey,
  type DeviceType,
  type VersionFileKind,
} from './apps.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import type { AppId, VersionId } from '../../kernel/ids.js';

/**
 * The processing queue of versions, for the workers that fetch and read bundles. The versions
 * table is the queue: a worker claims a pending version by moving it to processing (a
 * conditional update, so one claim wins on any number of nodes), and its result lands only
 * while the version is still processing at the generation it claimed.
 */

/** A claim that was interrupted this many times (the node died mid-job) is given up on. */
export const MAX_JOB_ATTEMPTS = 3;

export interface VersionJob {
  versionId: VersionId;
  appId: AppId;
  /** Which bundle of the version this job processes; a new bundle URL raises it. */
  generation: number;
  bundleUrl: string;
  /** 1 for the first attempt. */
  attempt: number;
}

/** What a worker read from a bundle: plain data, so the core needs no bundle parser. */
export interface BundleFacts {
  identifier: string;
  versionString: string | null;
  displayName: string;
  deviceFamilies: DeviceType[];
  landscape: boolean;
  files: Partial<Record<VersionFileKind, Buffer>>;
}

function toJob(row: VersionRow, attempt: number): VersionJob {
  return {
    versionId: row.id as VersionId,
    appId: row.app_id as AppId,
    generation: Number(row.generation),
    bundleUrl: row.bundle_url,
    attempt,
  };
}

export class VersionQueue {
  constructor(
    private readonly ctx: CoreContext,
    private readonly blobs: BlobStore,
  ) {}

  /** Claims the oldest pending version for `nodeId`, or undefined when none is pending. */
  async claimNext(nodeId: string): Promise<VersionJob | undefined> {
    for (const row of await this.ctx.store.versions.pending(8)) {
      const now = this.ctx.now();
      const attempt = Number(row.attempts) + 1;
      const claimed = await this.ctx.store.versions.updateIf(row.id, 'pending', Number(row.generation), {
        state: 'processing',
        claimed_by: nodeId,
        claimed_at: now,
        attempts: attempt,
        updated_at: now,
      });
      if (!claimed) continue;
      await emit(this.ctx, { type: 'version.state_changed', versionId: row.id as VersionId, appId: row.app_id as AppId, state: 'processing' });
      return toJob(row, attempt);
    }
    return undefined;
  }

  /**
   * At start, and now and then: versions left processing by this node (it stopped without
   * finishing them) or by any node before `staleBefore` (it died) go back to pending, or to
   * failed once they have been tried MAX_JOB_ATTEMPTS times. Returns how many were requeued.
   */
  async recoverInterrupted(nodeId: string, staleBefore: string): Promise<number> {
    let requeued = 0;
    for (const row of await this.ctx.store.versions.interrupted(nodeId, staleBefore)) {
      const job = toJob(row, Number(row.attempts));
      if (job.attempt >= MAX_JOB_ATTEMPTS) {
        await this.fail(job, `processing was interrupted ${job.attempt} times`);
        continue;
      }
      if (await this.ctx.store.versions.updateIf(row.id, 'processing', job.generation, { state: 'pending', claimed_by: null, claimed_at: null })) {
        requeued++;
        await emit(this.ctx, { type: 'version.state_changed', versionId: job.versionId, appId: job.appId, state: 'pending' });
      }
    }
    return requeued;
  }

  /** Whether the job's result is still wanted: the version exists and is processing this generation. */
  async isCurrent(job: VersionJob): Promise<boolean> {
    const row = await this.ctx.store.versions.findById(job.versionId);
    return row?.state === 'processing' && Number(row.generation) === job.generation;
  }

  /** Stores the images and marks the version ready; false (and nothing kept) when the version moved on meanwhile. */
  async complete(job: VersionJob, facts: BundleFacts): Promise<boolean> {
    const keys: Partial<Record<VersionFileKind, string>> = {};
    try {
      for (const kind of VERSION_FILES) {
        const data = facts.files[kind];
        if (data === undefined) continue;
        const key = versionFileKey(job.versionId, job.generation, kind);
        await this.blobs.put(key, data);
        keys[kind] = key;
      }
    } catch (err) {
      await this.discardIfSuperseded(job, true);
      throw err;
    }
    const now = this.ctx.now();
    const done = await this.ctx.store.versions.completeProcessing(job.versionId, job.generation, facts.versionString, {
      ...NOTHING_PROCESSED,
      state: 'ready',
      bundle_identifier: facts.identifier,
      display_name: facts.displayName,
      device_type: deviceTypeOf(facts.deviceFamilies),
      default_to_landscape: facts.landscape ? 1 : 0,
      [FILE_COLUMNS.icon]: keys.icon ?? null,
      [FILE_COLUMNS.default]: keys.default ?? null,
      [FILE_COLUMNS['default-landscape']]: keys['default-landscape'] ?? null,
      updated_at: now,
    });
    if (!done) {
      await this.discardIfSuperseded(job, false);
      return false;
    }
    await emit(this.ctx, { type: 'version.state_changed', versionId: job.versionId, appId: job.appId, state: 'ready' });
    return true;
  }

  /** Marks the version failed with `reason` and removes anything its job stored; false when the version moved on. */
  async fail(job: VersionJob, reason: string): Promise<boolean> {
    const failed = await this.ctx.store.versions.updateIf(job.versionId, 'processing', job.generation, {
      ...NOTHING_PROCESSED,
      state: 'failed',
      failure_reason: reason.length > FAILURE_REASON_MAX ? `${reason.slice(0, FAILURE_REASON_MAX - 1)}…` : reason,
      updated_at: this.ctx.now(),
    });
    if (failed) {
      await removeVersionFiles(this.ctx, this.blobs, [{ id: job.versionId, generation: job.generation }]);
      await emit(this.ctx, { type: 'version.state_changed', versionId: job.versionId, appId: job.appId, state: 'failed' });
    } else {
      await this.discardIfSuperseded(job, false);
    }
    return failed;
  }

  /** Hands a job back unfinished (the node is stopping): pending again, and the attempt does not count. */
  async release(job: VersionJob): Promise<void> {
    const released = await this.ctx.store.versions.updateIf(job.versionId, 'processing', job.generation, {
      state: 'pending',
      claimed_by: null,
      claimed_at: null,
      attempts: Math.max(0, job.attempt - 1),
    });
    if (released) await emit(this.ctx, { type: 'version.state_changed', versionId: job.versionId, appId: job.appId, state: 'pending' });
    else await this.discardIfSuperseded(job, false);
  }

  /**
   * Removes the files of the job's generation when nobody can still want them: the version is
   * gone or has a newer generation. (`always` also covers a job whose own writes failed.) When
   * another worker has taken over the same generation, its files are left alone.
   */
  private async discardIfSuperseded(job: VersionJob, always: boolean): Promise<void> {
    const row = await this.ctx.store.versions.findById(job.versionId);
    const superseded = !row || Number(row.generation) !== job.generation;
    const failedHere = always && row?.state === 'processing' && Number(row.generation) === job.generation;
    if (superseded || failedHere) await removeVersionFiles(this.ctx, this.blobs, [{ id: job.versionId, generation: job.generation }]);
  }
}
