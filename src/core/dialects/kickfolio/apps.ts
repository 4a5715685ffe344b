import { randomInt } from 'node:crypto';
import type { Updateable } from 'kysely';
import type { BlobStore } from '../../../blob/blob-store.js';
import type { AppRow, CommentRow, VersionRow } from '../../../store/repositories/dialects/kickfolio.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../../store/database.js';
import type { Database } from '../../../store/schema.js';
import type { EgressPolicy } from '../../egress/policy.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import type { AccountQuotas } from '../../accounts/quotas.js';
import { NotFoundError, ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { isUuid, newId, type AccountId, type AppId, type CommentId, type VersionId } from '../../kernel/ids.js';

/**
 * Apps, their versions (iOS builds fetched from a bundle URL and processed in the background)
 * and comments on versions. Every read and write is on behalf of an owner: another owner's
 * app, version or comment is answered exactly like one that does not exist.
 */

/** pending → processing → ready | failed; a new bundle URL starts again at pending. */
export const VERSION_STATES = ['pending', 'processing', 'ready', 'failed'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

export type DeviceType = 'iPhone' | 'iPad';

/** The images a processed version may have, each one PNG in the blob store. */
export const VERSION_FILES = ['icon', 'default', 'default-landscape'] as const;
export type VersionFileKind = (typeof VERSION_FILES)[number];

export const APP_NAME_MAX = 255;
export const BUNDLE_URL_MAX = 2048;
export const VERSION_STRING_MAX = 64;
export const COMMENT_BODY_MAX = 10_000;
/** Reasons longer than this are cut: they are shown to users, not kept as logs. */
export const FAILURE_REASON_MAX = 500;

export interface App {
  id: AppId;
  ownerId: AccountId;
  name: string;
  /** A short slug for public URLs that may stand in for the id. */
  publicKey: string;
  /** From the app's latest ready version: its bundle identifier, device and orientation. */
  bundle: string | null;
  deviceType: DeviceType | null;
  defaultToLandscape: boolean;
  /** The latest ready version when it has an icon: the app shows that icon. */
  iconVersionId: VersionId | null;
  versionIds: VersionId[];
  createdAt: string;
  updatedAt: string;
}

export interface Version {
  id: VersionId;
  appId: AppId;
  ownerId: AccountId;
  state: VersionState;
  /** Why processing failed, in words for the user; null unless `state` is failed. */
  failureReason: string | null;
  bundleUrl: string;
  versionString: string | null;
  /** What processing read from the bundle; null until the version is ready. */
  bundle: string | null;
  displayName: string | null;
  deviceType: DeviceType | null;
  defaultToLandscape: boolean;
  /** The images the version has (only once ready). */
  files: Record<VersionFileKind, boolean>;
  commentIds: CommentId[];
  createdAt: string;
  updatedAt: string;
}

export interface Comment {
  id: CommentId;
  versionId: VersionId;
  authorId: AccountId;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export const FILE_COLUMNS = {
  icon: 'icon_key',
  default: 'default_image_key',
  'default-landscape': 'default_image_landscape_key',
} as const satisfies Record<VersionFileKind, keyof VersionRow>;

/**
 * Where a version's image lives. The generation is part of the key, so a job still running
 * for a replaced bundle can never overwrite the files of the bundle that replaced it.
 */
export function versionFileKey(versionId: string, generation: number, kind: VersionFileKind): string {
  return `kickfolio/${versionId}/${generation}/${kind}.png`;
}

export function deviceTypeOf(families: readonly DeviceType[]): DeviceType {
  // A universal app opens as an iPhone app unless it is for the iPad alone.
  return families.includes('iPhone') || families.length === 0 ? 'iPhone' : 'iPad';
}

/** Public keys: 7 characters of [0-9A-Za-z], like the `zOBZ6A` of Kickfolio's short URLs. */
const PUBLIC_KEY_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PUBLIC_KEY_LENGTH = 7;
const PUBLIC_KEY_SHAPE = /^[0-9A-Za-z]{1,32}$/;

function newPublicKey(): string {
  let key = '';
  for (let i = 0; i < PUBLIC_KEY_LENGTH; i++) key += PUBLIC_KEY_ALPHABET[randomInt(PUBLIC_KEY_ALPHABET.length)];
  return key;
}

function tooLong(max: number): string {
  return `is too long (maximum is ${max} characters)`;
}

/** A required text field: trimmed, not blank, at most `max` characters. */
function requiredText(value: string | null | undefined, max: number, field: string, errors: FieldErrors): string | undefined {
  const text = value?.trim() ?? '';
  if (text === '') errors[field] = "can't be blank";
  else if ([...text].length > max) errors[field] = tooLong(max);
  else return text;
  return undefined;
}

function checkBundleUrl(value: string | null | undefined, errors: FieldErrors): string | undefined {
  const url = requiredText(value, BUNDLE_URL_MAX, 'bundleUrl', errors);
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    errors.bundleUrl = 'must be an http:// or https:// URL';
    return undefined;
  }
  return url;
}

/** An optional version string: null when absent or blank. */
function checkVersionString(value: string | null | undefined, errors: FieldErrors): string | null {
  const text = value?.trim() ?? '';
  if (text === '') return null;
  if ([...text].length > VERSION_STRING_MAX) errors.versionString = tooLong(VERSION_STRING_MAX);
  return text;
}

function failIfAny(errors: FieldErrors, what: string): void {
  if (Object.keys(errors).length > 0) throw new ValidationError(`Invalid ${what}`, errors);
}

function idsOf(values: readonly string[] | undefined): string[] | undefined {
  // Ids that are not UUIDs can match nothing; they are dropped rather than sent to the database.
  return values?.filter(isUuid).map((v) => v.toLowerCase());
}

function toVersion(row: VersionRow, commentIds: CommentId[]): Version {
  const ready = row.state === 'ready';
  return {
    id: row.id as VersionId,
    appId: row.app_id as AppId,
    ownerId: row.owner_id as AccountId,
    state: row.state as VersionState,
    failureReason: row.state === 'failed' ? row.failure_reason : null,
    bundleUrl: row.bundle_url,
    versionString: row.version_string,
    bundle: row.bundle_identifier,
    displayName: row.display_name,
    deviceType: row.device_type as DeviceType | null,
    defaultToLandscape: row.default_to_landscape === 1,
    files: {
      icon: ready && row.icon_key !== null,
      default: ready && row.default_image_key !== null,
      'default-landscape': ready && row.default_image_landscape_key !== null,
    },
    commentIds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `versions` are the app's, oldest first. */
function toApp(row: AppRow, versions: readonly VersionRow[]): App {
  const latest = versions.filter((v) => v.state === 'ready').at(-1);
  return {
    id: row.id as AppId,
    ownerId: row.owner_id as AccountId,
    name: row.name,
    publicKey: row.public_key,
    bundle: latest?.bundle_identifier ?? null,
    deviceType: (latest?.device_type as DeviceType | undefined) ?? null,
    defaultToLandscape: latest?.default_to_landscape === 1,
    iconVersionId: latest?.icon_key ? (latest.id as VersionId) : null,
    versionIds: versions.map((v) => v.id as VersionId),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toComment(row: CommentRow): Comment {
  return {
    id: row.id as CommentId,
    versionId: row.version_id as VersionId,
    authorId: row.author_id as AccountId,
    body: row.body,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The columns that hold what processing read from a bundle, all cleared. */
export const NOTHING_PROCESSED = {
  failure_reason: null,
  bundle_identifier: null,
  display_name: null,
  device_type: null,
  default_to_landscape: 0,
  icon_key: null,
  default_image_key: null,
  default_image_landscape_key: null,
  claimed_by: null,
  claimed_at: null,
} as const satisfies Updateable<Database['app_versions']>;

export interface VersionInput {
  appId?: string | null;
  bundleUrl?: string | null;
  versionString?: string | null;
}

/** Where a version is addressed through its app (`/apps/:app_id/versions/:id`). */
export interface VersionScope {
  app?: string;
}

/** Where a comment is addressed through its version (`/versions/:version_id/comments/:id`). */
export interface CommentScope {
  version?: string;
  app?: string;
}

export class AppService {
  private readonly queuedListeners = new Set<() => void>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly blobs: BlobStore,
    private readonly quotas: AccountQuotas,
    /** Where bundles may be downloaded from: a URL is checked when saved, and again at download. */
    private readonly egress: EgressPolicy,
  ) {}

  /** Adds to `errors` why the egress policy refuses a bundle URL (a private address, say). */
  private async checkBundleReach(bundleUrl: string | undefined, errors: FieldErrors): Promise<void> {
    if (bundleUrl === undefined || errors.bundleUrl !== undefined) return;
    const refusal = await this.egress.urlRefusal(bundleUrl, ['http', 'https']);
    if (refusal) errors.bundleUrl = refusal;
  }

  // Apps -------------------------------------------------------------------------------------

  async listApps(ownerId: AccountId, ids?: readonly string[]): Promise<App[]> {
    return this.withVersions(await this.ctx.store.apps.listByOwner(ownerId, idsOf(ids)));
  }

  /** By id or public key. */
  async getApp(ownerId: AccountId, ref: string): Promise<App> {
    const [app] = await this.withVersions([await this.ownedApp(ownerId, ref)]);
    return app!;
  }

  async createApp(ownerId: AccountId, input: { name?: string | null }): Promise<App> {
    const errors: FieldErrors = {};
    const name = requiredText(input.name, APP_NAME_MAX, 'name', errors);
    failIfAny(errors, 'app');
    const now = this.ctx.now();
    const id = newId<'AppId'>();
    for (let attempt = 1; ; attempt++) {
      const row: AppRow = { id, owner_id: ownerId, name: name!, public_key: newPublicKey(), created_at: now, updated_at: now };
      try {
        await this.ctx.store.transaction(async (tx) => {
          await this.quotas.reserve(tx, ownerId, 'apps', () => tx.apps.countByOwner(ownerId));
          await tx.apps.insert(row);
        });
      } catch (err) {
        // 62^7 keys make a collision rare; a few fresh draws make it vanish.
        if (isUniqueViolation(err) && attempt < 5) continue;
        throw err;
      }
      await emit(this.ctx, { type: 'app.created', appId: id, ownerId });
      return toApp(row, []);
    }
  }

  async updateApp(ownerId: AccountId, ref: string, input: { name?: string | null }): Promise<App> {
    const row = await this.ownedApp(ownerId, ref);
    if (input.name !== undefined) {
      const errors: FieldErrors = {};
      const name = requiredText(input.name, APP_NAME_MAX, 'name', errors);
      failIfAny(errors, 'app');
      await this.ctx.store.apps.rename(row.id, name!, this.ctx.now());
      await emit(this.ctx, { type: 'app.updated', appId: row.id as AppId });
    }
    return this.getApp(ownerId, row.id);
  }

  /** Deletes the app with its versions, their comments and their images. */
  async deleteApp(ownerId: AccountId, ref: string): Promise<void> {
    const row = await this.ownedApp(ownerId, ref);
    const versions = await this.ctx.store.versions.list({ ownerId, appId: row.id });
    await this.ctx.store.apps.delete(row.id);
    await this.removeFiles(versions);
    await emit(this.ctx, { type: 'app.deleted', appId: row.id as AppId, ownerId });
  }

  // Versions ---------------------------------------------------------------------------------

  async listVersions(ownerId: AccountId, filter: { app?: string; ids?: readonly string[] } = {}): Promise<Version[]> {
    const appId = filter.app === undefined ? undefined : (await this.ownedApp(ownerId, filter.app)).id;
    const rows = await this.ctx.store.versions.list({ ownerId, ...(appId !== undefined ? { appId } : {}), ...(filter.ids !== undefined ? { ids: idsOf(filter.ids)! } : {}) });
    return this.withComments(rows);
  }

  async getVersion(ownerId: AccountId, id: string, scope: VersionScope = {}): Promise<Version> {
    const [version] = await this.withComments([await this.ownedVersion(ownerId, id, scope)]);
    return version!;
  }

  /** A new version, pending until a worker processes its bundle. The app comes from the scope, else from `appId`. */
  async createVersion(ownerId: AccountId, input: VersionInput, scope: VersionScope = {}): Promise<Version> {
    const scoped = scope.app === undefined ? undefined : await this.ownedApp(ownerId, scope.app);
    const errors: FieldErrors = {};
    const app = scoped ?? (await this.appField(ownerId, input.appId, errors));
    const bundleUrl = checkBundleUrl(input.bundleUrl, errors);
    await this.checkBundleReach(bundleUrl, errors);
    const versionString = checkVersionString(input.versionString, errors);
    failIfAny(errors, 'version');
    const now = this.ctx.now();
    const row: VersionRow = {
      id: newId<'VersionId'>(),
      app_id: app!.id,
      owner_id: ownerId,
      state: 'pending',
      bundle_url: bundleUrl!,
      version_string: versionString,
      version_string_from_bundle: 0,
      generation: 1,
      attempts: 0,
      ...NOTHING_PROCESSED,
      created_at: now,
      updated_at: now,
    };
    await this.ctx.store.versions.insert(row).catch((err: unknown) => {
      // The app was deleted between the check above and this insert.
      if (isForeignKeyViolation(err)) throw new ValidationError('Invalid version', { appId: 'does not exist' });
      throw err;
    });
    await emit(this.ctx, { type: 'version.created', versionId: row.id as VersionId, appId: row.app_id as AppId });
    this.notifyQueued();
    return toVersion(row, []);
  }

  /**
   * Changes a version. A different bundle URL, or any bundle URL for a failed version, sends it
   * back to pending with a new generation: what the old bundle said and its images are gone.
   */
  async updateVersion(ownerId: AccountId, id: string, input: VersionInput, scope: VersionScope = {}): Promise<Version> {
    // The write is conditional on the generation read, so two changes racing cannot both
    // start the same next generation; the loser reads again and applies its change on top.
    for (let attempt = 1; ; attempt++) {
      const row = await this.ownedVersion(ownerId, id, scope);
      const { changes, reprocess } = await this.versionChanges(ownerId, row, input);
      if (Object.keys(changes).length === 0) return this.getVersion(ownerId, row.id);
      changes.updated_at = this.ctx.now();
      const applied = await this.ctx.store.versions.updateAtGeneration(row.id, Number(row.generation), changes).catch((err: unknown) => {
        if (isForeignKeyViolation(err)) throw new ValidationError('Invalid version', { appId: 'does not exist' });
        throw err;
      });
      if (!applied) {
        if (attempt < 5) continue;
        throw new Error(`version ${row.id} kept changing while it was being updated`);
      }
      const appId = (changes.app_id ?? row.app_id) as AppId;
      await emit(this.ctx, { type: 'version.updated', versionId: row.id as VersionId, appId });
      if (reprocess) {
        await this.removeFiles([row]);
        await emit(this.ctx, { type: 'version.state_changed', versionId: row.id as VersionId, appId, state: 'pending' });
        this.notifyQueued();
      }
      return this.getVersion(ownerId, row.id);
    }
  }

  /** What `input` changes in the version `row`, checked; a field error throws. */
  private async versionChanges(ownerId: AccountId, row: VersionRow, input: VersionInput): Promise<{ changes: Updateable<Database['app_versions']>; reprocess: boolean }> {
    const errors: FieldErrors = {};
    const changes: Updateable<Database['app_versions']> = {};
    if (input.appId !== undefined) {
      const app = await this.appField(ownerId, input.appId, errors);
      if (app) changes.app_id = app.id;
    }
    if (input.versionString !== undefined) {
      changes.version_string = checkVersionString(input.versionString, errors);
      changes.version_string_from_bundle = 0;
    }
    let reprocess = false;
    if (input.bundleUrl !== undefined) {
      const bundleUrl = checkBundleUrl(input.bundleUrl, errors);
      await this.checkBundleReach(bundleUrl, errors);
      if (bundleUrl !== undefined && errors.bundleUrl === undefined && (bundleUrl !== row.bundle_url || row.state === 'failed')) {
        reprocess = true;
        Object.assign(changes, NOTHING_PROCESSED, { bundle_url: bundleUrl, state: 'pending', generation: Number(row.generation) + 1, attempts: 0 });
        if (input.versionString === undefined && row.version_string_from_bundle === 1) {
          changes.version_string = null;
          changes.version_string_from_bundle = 0;
        }
      }
    }
    failIfAny(errors, 'version');
    return { changes, reprocess };
  }

  /** Deletes the version with its comments and images. */
  async deleteVersion(ownerId: AccountId, id: string, scope: VersionScope = {}): Promise<void> {
    const row = await this.ownedVersion(ownerId, id, scope);
    await this.ctx.store.versions.delete(row.id);
    await this.removeFiles([row]);
    await emit(this.ctx, { type: 'version.deleted', versionId: row.id as VersionId, appId: row.app_id as AppId });
  }

  /**
   * One of a version's images, for anyone who knows the version's id (an `<img>` cannot send
   * credentials; version ids are random UUIDs that only the owner is shown).
   */
  async openFile(versionId: string, kind: VersionFileKind) {
    if (!isUuid(versionId)) return undefined;
    const row = await this.ctx.store.versions.findById(versionId.toLowerCase());
    const key = row?.state === 'ready' ? row[FILE_COLUMNS[kind]] : null;
    return key ? this.blobs.open(key) : undefined;
  }

  // Comments ---------------------------------------------------------------------------------

  async listComments(ownerId: AccountId, filter: { versionId?: string; ids?: readonly string[] } = {}, scope: CommentScope = {}): Promise<Comment[]> {
    let versionId: string | undefined;
    if (scope.version !== undefined) versionId = (await this.ownedVersion(ownerId, scope.version, scope)).id;
    else if (filter.versionId !== undefined) versionId = (await this.ownedVersion(ownerId, filter.versionId)).id;
    const rows = await this.ctx.store.comments.listForOwner(ownerId, {
      ...(versionId !== undefined ? { versionId } : {}),
      ...(filter.ids !== undefined ? { ids: idsOf(filter.ids)! } : {}),
    });
    return rows.map(toComment);
  }

  async getComment(ownerId: AccountId, id: string, scope: CommentScope = {}): Promise<Comment> {
    return toComment(await this.ownedComment(ownerId, id, scope));
  }

  /** A comment by the owner on one of their versions: the version comes from the scope, else from `versionId`. */
  async createComment(ownerId: AccountId, input: { versionId?: string | null; body?: string | null }, scope: CommentScope = {}): Promise<Comment> {
    const errors: FieldErrors = {};
    let version: VersionRow | undefined;
    if (scope.version !== undefined) {
      version = await this.ownedVersion(ownerId, scope.version, scope);
    } else if (input.versionId === undefined || input.versionId === null || input.versionId.trim() === '') {
      errors.versionId = "can't be blank";
    } else {
      version = await this.ownedVersion(ownerId, input.versionId.trim()).catch((err: unknown) => {
        if (err instanceof NotFoundError) errors.versionId = 'does not exist';
        else throw err;
        return undefined;
      });
    }
    const body = requiredText(input.body, COMMENT_BODY_MAX, 'body', errors);
    failIfAny(errors, 'comment');
    const now = this.ctx.now();
    const row: CommentRow = { id: newId<'CommentId'>(), version_id: version!.id, author_id: ownerId, body: body!, created_at: now, updated_at: now };
    await this.ctx.store.comments.insert(row).catch((err: unknown) => {
      // The version was deleted between the check above and this insert.
      if (isForeignKeyViolation(err)) throw new NotFoundError('No such version');
      throw err;
    });
    await emit(this.ctx, { type: 'comment.created', commentId: row.id as CommentId, versionId: row.version_id as VersionId });
    return toComment(row);
  }

  async deleteComment(ownerId: AccountId, id: string, scope: CommentScope = {}): Promise<void> {
    const row = await this.ownedComment(ownerId, id, scope);
    await this.ctx.store.comments.delete(row.id);
    await emit(this.ctx, { type: 'comment.deleted', commentId: row.id as CommentId, versionId: row.version_id as VersionId });
  }

  // The processing queue's doorbell ------------------------------------------------------------

  /** Calls `wake` whenever a version is queued for processing on this node; returns the unsubscribe. */
  onQueued(wake: () => void): () => void {
    this.queuedListeners.add(wake);
    return () => this.queuedListeners.delete(wake);
  }

  private notifyQueued(): void {
    for (const wake of this.queuedListeners) wake();
  }

  // Helpers ----------------------------------------------------------------------------------

  private async ownedApp(ownerId: AccountId, ref: string): Promise<AppRow> {
    const row = isUuid(ref)
      ? await this.ctx.store.apps.findById(ref.toLowerCase())
      : PUBLIC_KEY_SHAPE.test(ref)
        ? await this.ctx.store.apps.findByPublicKey(ref)
        : undefined;
    if (!row || row.owner_id !== ownerId) throw new NotFoundError('No such app');
    return row;
  }

  /** The app a body's `app_id` names: blank and unknown are field errors, not a missing page. */
  private async appField(ownerId: AccountId, ref: string | null | undefined, errors: FieldErrors): Promise<AppRow | undefined> {
    const text = ref?.trim() ?? '';
    if (text === '') {
      errors.appId = "can't be blank";
      return undefined;
    }
    try {
      return await this.ownedApp(ownerId, text);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      errors.appId = 'does not exist';
      return undefined;
    }
  }

  private async ownedVersion(ownerId: AccountId, id: string, scope: VersionScope = {}): Promise<VersionRow> {
    const app = scope.app === undefined ? undefined : await this.ownedApp(ownerId, scope.app);
    const row = isUuid(id) ? await this.ctx.store.versions.findById(id.toLowerCase()) : undefined;
    if (!row || row.owner_id !== ownerId || (app !== undefined && row.app_id !== app.id)) throw new NotFoundError('No such version');
    return row;
  }

  private async ownedComment(ownerId: AccountId, id: string, scope: CommentScope): Promise<CommentRow> {
    const version = scope.version === undefined ? undefined : await this.ownedVersion(ownerId, scope.version, scope);
    const row = isUuid(id) ? await this.ctx.store.comments.findById(id.toLowerCase()) : undefined;
    const parent = row && (version?.id === row.version_id ? version : await this.ctx.store.versions.findById(row.version_id));
    if (!row || !parent || parent.owner_id !== ownerId || (version !== undefined && row.version_id !== version.id)) throw new NotFoundError('No such comment');
    return row;
  }

  private async withVersions(rows: AppRow[]): Promise<App[]> {
    const versions = await this.ctx.store.versions.listByApps(rows.map((r) => r.id));
    const byApp = new Map<string, VersionRow[]>();
    for (const v of versions) byApp.set(v.app_id, [...(byApp.get(v.app_id) ?? []), v]);
    return rows.map((row) => toApp(row, byApp.get(row.id) ?? []));
  }

  private async withComments(rows: VersionRow[]): Promise<Version[]> {
    if (rows.length === 0) return [];
    const comments = await this.ctx.store.comments.listByVersions(rows.map((r) => r.id));
    const byVersion = new Map<string, CommentId[]>();
    for (const c of comments) byVersion.set(c.version_id, [...(byVersion.get(c.version_id) ?? []), c.id as CommentId]);
    return rows.map((row) => toVersion(row, byVersion.get(row.id) ?? []));
  }

  /** Removes every image a version's current generation may have written, recorded or not (a crash may leave one unrecorded). */
  private async removeFiles(rows: readonly VersionRow[]): Promise<void> {
    await removeVersionFiles(this.ctx, this.blobs, rows.map((r) => ({ id: r.id, generation: Number(r.generation) })));
  }
}

/** Deletes the images of versions at their generations; a failure is reported, never thrown (the rows are already gone). */
export async function removeVersionFiles(ctx: CoreContext, blobs: BlobStore, versions: readonly { id: string; generation: number }[]): Promise<void> {
  for (const v of versions) {
    for (const kind of VERSION_FILES) {
      await blobs.delete(versionFileKey(v.id, v.generation, kind)).catch((err: unknown) => ctx.onBackgroundError(err, `deleting ${kind} of version ${v.id}`));
    }
  }
}
