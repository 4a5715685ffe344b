import type { AccessProfile, AccessUser } from '../../core/dialects/multistreamer/access-tokens.js';
import type { NetworkAccountView } from '../../core/dialects/multistreamer/network-accounts.js';
import type { AttachedAccountView, StreamView } from '../../core/dialects/multistreamer/multistreams.js';

/**
 * The JSON the Multistreamer API answers with, shaped as its document shows: integer ids and
 * levels, `preview_required` as 0/1, `live` as a boolean, timestamps as "YYYY-MM-DD HH:MM:SS"
 * (UTC), and absent (rather than null) values left out, as the original's Lua tables did.
 */
export function timestamp(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

function user(u: AccessUser): { id: number; username: string } {
  return { id: u.id, username: u.username };
}

export function profileJson(p: AccessProfile) {
  return { id: p.id, username: p.username, access_token: p.accessToken, created_at: timestamp(p.createdAt), updated_at: timestamp(p.updatedAt) };
}

/** The user list: the caller's own token only. */
export function userListJson(users: AccessUser[], self: AccessProfile) {
  return { users: users.map((u) => (u.accountId === self.accountId ? { id: u.id, username: u.username, access_token: self.accessToken } : user(u))) };
}

function accountBase(a: NetworkAccountView) {
  return {
    id: a.id,
    user_id: a.owner.id,
    network: a.network,
    name: a.name,
    slug: a.slug,
    created_at: timestamp(a.createdAt),
    updated_at: timestamp(a.updatedAt),
  };
}

export function accountJson(a: NetworkAccountView) {
  return {
    ...accountBase(a),
    ...(a.ffmpegArgs !== null ? { ffmpeg_args: a.ffmpegArgs } : {}),
    settings: a.settings,
    ...(a.shares ? { shares: a.shares.map((s) => ({ user: user(s) })) } : {}),
  };
}

function attachedJson(a: AttachedAccountView) {
  return {
    ...accountBase(a.account),
    settings: a.settings,
    ...(a.ffmpegArgs !== null ? { ffmpeg_args: a.ffmpegArgs } : {}),
    ...(a.metadataFields.length > 0
      ? {
          metadata_fields: a.metadataFields.map((f) => ({
            key: f.key,
            label: f.label,
            type: f.type,
            required: f.required,
            ...(f.options ? { options: f.options } : {}),
            ...(f.value !== undefined ? { value: f.value } : {}),
          })),
        }
      : {}),
  };
}

/**
 * A stream as the original answers it. `preview_url` is an extension: the HLS playlist of the
 * live input, for the preview a user watches before going live (the original's web page showed
 * it at /stream/:id/video); clients that do not know it ignore it.
 */
export function streamJson(s: StreamView, publicUrl: string) {
  const m = s.metadata;
  return {
    id: s.id,
    user_id: s.owner.id,
    name: s.name,
    slug: s.slug,
    live: s.live,
    created_at: timestamp(s.createdAt),
    updated_at: timestamp(s.updatedAt),
    ...(m
      ? {
          ...(m.title !== null ? { title: m.title } : {}),
          ...(m.description !== null ? { description: m.description } : {}),
          preview_required: m.previewRequired ? 1 : 0,
          preview_url: `${publicUrl}/hls/${s.streamId}/index.m3u8`,
          ...(m.ffmpegPullArgs !== null ? { ffmpeg_pull_args: m.ffmpegPullArgs } : {}),
          accounts: m.accounts.map(attachedJson),
        }
      : {}),
    ...(s.key !== undefined ? { uuid: s.key } : {}),
    ...(s.webhooks && s.webhooks.length > 0
      ? { webhooks: s.webhooks.map((w) => ({ id: w.id, url: w.url, type: w.type, events: w.events, notes: w.notes, secret: w.secret })) }
      : {}),
    ...(s.shares
      ? {
          shares: s.shares.map((sh) => ({
            chat_level: sh.chatLevel,
            metadata_level: sh.metadataLevel,
            created_at: timestamp(sh.createdAt),
            updated_at: timestamp(sh.updatedAt),
            user: user(sh.user),
          })),
        }
      : {}),
  };
}
