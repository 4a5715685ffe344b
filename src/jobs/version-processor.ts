import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { PRIVATE_DIRECTORY_MODE } from '../blob/private-files.js';
import { join } from 'node:path';
import { BundleError, DEFAULT_BUNDLE_LIMITS, readAppBundle, type AppBundle, type BundleLimits } from '../bundles/app-bundle.js';
import { PlistError } from '../bundles/plist.js';
import { DEFAULT_ZIP_LIMITS, ZipArchive, ZipError, type ByteSource, type ZipLimits } from '../bundles/zip.js';
import type { Core } from '../core/core.js';
import type { BundleFacts, VersionJob } from '../core/dialects/kickfolio/version-queue.js';
import { downloadToFile, FetchError, type FetchLimits } from './fetch.js';
import { Poller } from './poller.js';

export interface ProcessorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface VersionProcessorOptions {
  core: Core;
  log: ProcessorLogger;
  /** This node's name: its claims are resumed when it starts again. */
  nodeId: string;
  /** Where bundles are downloaded to while they are read; emptied at start. */
  tempDir: string;
  fetch: FetchLimits;
  /** Versions processed at once on this node. */
  concurrency?: number;
  /** See VERSION_SWEEP_MS (tests shorten it). */
  sweepMs?: number;
  zipLimits?: ZipLimits;
  bundleLimits?: BundleLimits;
}

/** Versions processed at once: downloads are I/O-bound, and each holds a temporary file. */
export const DEFAULT_CONCURRENCY = 2;
/**
 * How often the queue is looked at when nothing announced work. A version queued on any node is
 * announced on the bus (`version.created`, or `version.state_changed` to pending), which kicks
 * every node's processor, so this is only for what no event says: a claim left by a node that
 * died (taken over once its lease, at least ten minutes, has run out) and an event the bus
 * lost (Redis pub/sub delivers at most once). Five minutes against a lease of ten or more.
 */
export const VERSION_SWEEP_MS = 5 * 60_000;
/** The least time between two looks for claims abandoned by dead nodes. */
const RECOVERY_INTERVAL_MS = 60_000;
/** A claim older than the download deadline plus this is taken to belong to a dead node. */
const LEASE_MARGIN_MS = 10 * 60_000;

const INTERNAL_FAILURE = 'an internal error stopped the processing of the bundle';

/** Why processing stopped, in words for the version's owner. */
export function failureReason(err: unknown): string | undefined {
  if (err instanceof FetchError) return `could not download the bundle: ${err.message}`;
  if (err instanceof ZipError) return `the bundle is not a usable zip: ${err.message}`;
  if (err instanceof PlistError) return `Info.plist could not be read: ${err.message}`;
  if (err instanceof BundleError) return `the bundle is not a usable iOS app: ${err.message}`;
  return undefined;
}

function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
  };
}

function factsOf(bundle: AppBundle): BundleFacts {
  return {
    identifier: bundle.identifier,
    versionString: bundle.versionString,
    displayName: bundle.displayName,
    deviceFamilies: bundle.deviceFamilies,
    landscape: bundle.landscape,
    files: {
      ...(bundle.icon ? { icon: bundle.icon.data } : {}),
      ...(bundle.defaultImage ? { default: bundle.defaultImage.data } : {}),
      ...(bundle.defaultImageLandscape ? { 'default-landscape': bundle.defaultImageLandscape.data } : {}),
    },
  };
}

/** The reason a job is aborted when its node stops: it goes back to the queue, not to failed. */
class Stopping extends Error {
  override readonly name = 'Stopping';
}

/**
 * Processes versions: claims pending ones from the queue (the versions table), downloads each
 * bundle to a temporary file, reads it, and hands the result to the core. At start it takes
 * back what this node left processing; on stop it aborts running jobs and hands them back.
 */
export class VersionProcessor {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly concurrency: number;
  private readonly poller: Poller;
  private lastRecovery = 0;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly options: VersionProcessorOptions) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.poller = new Poller(() => this.fill(), {
      sweepMs: options.sweepMs ?? VERSION_SWEEP_MS,
      onError: (err) => options.log.error({ err }, 'claiming versions to process failed'),
    });
  }

  async start(): Promise<void> {
    // Files left by a run that stopped mid-download belong to no job any more.
    await rm(this.options.tempDir, { recursive: true, force: true });
    // Downloads are the users' bundles: private, like every file of the server.
    await mkdir(this.options.tempDir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    await this.recover();
    const kick = () => this.poller.kick();
    // This node's queueing rings at once; every node's (this one's too) is heard on the bus.
    this.unsubscribe.push(this.options.core.apps.onQueued(kick));
    this.unsubscribe.push(
      this.options.core.events.subscribe((event) => {
        if (event.type === 'version.created' || (event.type === 'version.state_changed' && event.state === 'pending')) kick();
      }),
    );
    this.poller.start();
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    const filling = this.poller.stop();
    for (const { controller } of this.running.values()) controller.abort(new Stopping('the node is stopping'));
    await filling;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async recover(): Promise<void> {
    this.lastRecovery = Date.now();
    const staleBefore = new Date(Date.now() - this.options.fetch.timeoutMs - LEASE_MARGIN_MS).toISOString();
    const requeued = await this.options.core.versionQueue.recoverInterrupted(this.options.nodeId, staleBefore);
    if (requeued > 0) this.options.log.info({ requeued }, 'resuming interrupted version processing');
  }

  /**
   * Claims pending versions until every slot is busy; run by the poller when a version is
   * queued, when a job ends and at the sweep. A pending version is due at once: there is no due
   * time to wait for.
   */
  private async fill(): Promise<undefined> {
    if (Date.now() - this.lastRecovery > RECOVERY_INTERVAL_MS) await this.recover();
    while (!this.poller.isStopped && this.running.size < this.concurrency) {
      const job = await this.options.core.versionQueue.claimNext(this.options.nodeId);
      if (!job) return undefined;
      if (this.poller.isStopped) {
        await this.options.core.versionQueue.release(job);
        return undefined;
      }
      const controller = new AbortController();
      const done = this.process(job, controller.signal)
        .catch((err: unknown) => this.options.log.error({ err, versionId: job.versionId }, 'version processing could not record its outcome'))
        .finally(() => {
          this.running.delete(job.versionId);
          this.poller.kick();
        });
      this.running.set(job.versionId, { controller, done });
    }
    return undefined;
  }

  /**
   * One job: download, read, then record the outcome. The temporary file is gone before the
   * outcome is recorded, so a version that shows `failed` or `ready` has left nothing behind.
   */
  private async process(job: VersionJob, signal: AbortSignal): Promise<void> {
    const { log } = this.options;
    const queue = this.options.core.versionQueue;
    const context = { versionId: job.versionId, generation: job.generation, attempt: job.attempt };
    // The URL is not logged: it may carry a signed query (S3, Filepicker).
    log.info(context, 'processing version bundle');
    let bundle: AppBundle | undefined;
    try {
      bundle = await this.fetchAndRead(job, signal);
    } catch (err) {
      if (signal.aborted && signal.reason instanceof Stopping) {
        await queue.release(job);
        log.info(context, 'version processing stopped; it resumes at the next start');
        return;
      }
      const reason = failureReason(err);
      if (reason === undefined) log.error({ ...context, err }, 'version processing failed unexpectedly');
      else log.warn({ ...context, reason }, 'version processing failed');
      await queue.fail(job, reason ?? INTERNAL_FAILURE);
      return;
    }
    if (bundle === undefined) {
      log.info(context, 'version changed while its bundle downloaded; result discarded');
      return;
    }
    try {
      const ready = await queue.complete(job, factsOf(bundle));
      log.info({ ...context, outcome: ready ? 'ready' : 'superseded' }, 'version bundle processed');
    } catch (err) {
      log.error({ ...context, err }, 'storing a processed version failed');
      await queue.fail(job, INTERNAL_FAILURE);
    }
  }

  /** The bundle read from the job's URL, or undefined when the version changed meanwhile; the download is removed either way. */
  private async fetchAndRead(job: VersionJob, signal: AbortSignal): Promise<AppBundle | undefined> {
    const file = join(this.options.tempDir, `${job.versionId}-${job.generation}-${randomBytes(4).toString('hex')}.zip`);
    try {
      const { bytes } = await downloadToFile(job.bundleUrl, file, this.options.fetch, signal);
      if (!(await this.options.core.versionQueue.isCurrent(job))) return undefined;
      const handle = await open(file, 'r');
      try {
        const archive = await ZipArchive.open(fileSource(handle, bytes), this.options.zipLimits ?? DEFAULT_ZIP_LIMITS);
        return await readAppBundle(archive, this.options.bundleLimits ?? DEFAULT_BUNDLE_LIMITS);
      } finally {
        await handle.close();
      }
    } finally {
      await rm(file, { force: true });
    }
  }
}
