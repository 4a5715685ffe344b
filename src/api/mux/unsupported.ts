/**
 * Parts of Mux's API outside live video (uploads, on-demand assets, DRM, subtitles, data): a
 * client that asks for them learns they are not supported here, not that its path is wrong.
 */
const UNSUPPORTED: [RegExp, string][] = [
  [/^POST \/video\/v1\/assets$/, 'Creating assets from URLs (on-demand ingest)'],
  [/^PATCH \/video\/v1\/assets\/[^/]+$/, 'Updating assets (an asset takes its passthrough from its live stream)'],
  [/^[A-Z]+ \/video\/v1\/uploads(\/|$)/, 'Direct uploads'],
  [/^[A-Z]+ \/video\/v1\/assets\/[^/]+\/(tracks|static-renditions|mp4-support|master-access|input-info|shots|thumbnail-time)(\/|$)/, 'This asset feature'],
  [/^[A-Z]+ \/video\/v1\/live-streams\/[^/]+\/(embedded-subtitles|generated-subtitles)$/, 'Live subtitles'],
  [/^[A-Z]+ \/video\/v1\/live-streams\/[^/]+\/new-asset-settings\/static-renditions$/, 'Static renditions'],
  [/^[A-Z]+ \/video\/v1\/drm-configurations(\/|$)/, 'DRM'],
  [/^[A-Z]+ \/video\/v1\/playback-restrictions(\/|$)/, 'Playback restrictions'],
  [/^[A-Z]+ \/video\/v1\/transcription-vocabularies(\/|$)/, 'Transcription vocabularies'],
  [/^[A-Z]+ \/video\/v1\/web-inputs(\/|$)/, 'Web inputs'],
  [/^[A-Z]+ \/video\/v1\/delivery-usage(\/|$)/, 'Delivery usage'],
  [/^[A-Z]+ \/video\/v1\/signing-keys(\/|$)/, 'Signing keys under /video/v1 (use /system/v1/signing-keys)'],
  [/^[A-Z]+ \/system\/v1\/utilities(\/|$)/, 'Utilities'],
];

/** The name of the unsupported Mux feature a path belongs to, or undefined. */
export function unsupportedFeature(method: string, path: string): string | undefined {
  const request = `${method} ${path}`;
  return UNSUPPORTED.find(([pattern]) => pattern.test(request))?.[1];
}
