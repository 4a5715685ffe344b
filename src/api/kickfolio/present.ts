import type { App, Comment, Version, VersionFileKind } from '../../core/dialects/kickfolio/apps.js';

/**
 * Kickfolio's JSON shapes, field order as the API document shows them. Beyond the document:
 * `version_ids` on apps (the Jenkins plugin reads it; `versions` holds the same ids, as in the
 * document), `comment_ids` on versions (likewise beside `comments`), and on versions what
 * processing found: `icon`, `bundle`, `display_name`, `device_type` and `failure_reason`.
 */
export interface KickfolioApp {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  bundle: string | null;
  default_to_landscape: boolean;
  icon: string | null;
  device_type: string | null;
  created_at: string;
  updated_at: string;
  versions: string[];
  version_ids: string[];
}

export interface KickfolioVersion {
  id: string;
  app_id: string;
  state: string;
  bundle_url: string;
  version_string: string | null;
  default_image: string | null;
  default_image_landscape: string | null;
  created_at: string;
  updated_at: string;
  comments: string[];
  comment_ids: string[];
  icon: string | null;
  bundle: string | null;
  display_name: string | null;
  device_type: string | null;
  failure_reason: string | null;
}

export interface KickfolioComment {
  id: string;
  version_id: string;
  user_id: string;
  body: string;
  created_at: string;
  updated_at: string;
}

/** `2012-12-05T20:30:59Z`: the document's timestamps have no fraction of a second. */
export function timestamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** File names of a version's images under `/versions/<id>/`. */
export const FILE_NAMES: Record<VersionFileKind, string> = {
  icon: 'icon.png',
  default: 'default.png',
  'default-landscape': 'default-landscape.png',
};

/** Builds the public URLs of a version's images: `<base>/versions/<id>/icon.png`. */
export function fileUrl(base: string, versionId: string, kind: VersionFileKind): string {
  return `${base}/versions/${versionId}/${FILE_NAMES[kind]}`;
}

export function presentApp(app: App, base: string): KickfolioApp {
  return {
    id: app.id,
    user_id: app.ownerId,
    name: app.name,
    public_key: app.publicKey,
    bundle: app.bundle,
    default_to_landscape: app.defaultToLandscape,
    icon: app.iconVersionId ? fileUrl(base, app.iconVersionId, 'icon') : null,
    device_type: app.deviceType,
    created_at: timestamp(app.createdAt),
    updated_at: timestamp(app.updatedAt),
    versions: app.versionIds,
    version_ids: app.versionIds,
  };
}

export function presentVersion(version: Version, base: string): KickfolioVersion {
  const file = (kind: VersionFileKind) => (version.files[kind] ? fileUrl(base, version.id, kind) : null);
  return {
    id: version.id,
    app_id: version.appId,
    state: version.state,
    bundle_url: version.bundleUrl,
    version_string: version.versionString,
    default_image: file('default'),
    default_image_landscape: file('default-landscape'),
    created_at: timestamp(version.createdAt),
    updated_at: timestamp(version.updatedAt),
    comments: version.commentIds,
    comment_ids: version.commentIds,
    icon: file('icon'),
    bundle: version.bundle,
    display_name: version.displayName,
    device_type: version.deviceType,
    failure_reason: version.failureReason,
  };
}

export function presentComment(comment: Comment): KickfolioComment {
  return {
    id: comment.id,
    version_id: comment.versionId,
    user_id: comment.authorId,
    body: comment.body,
    created_at: timestamp(comment.createdAt),
    updated_at: timestamp(comment.updatedAt),
  };
}
