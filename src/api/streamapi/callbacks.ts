import type { Core } from '../../core/core.js';
import type { DomainEvent } from '../../core/kernel/events.js';

/**
 * The callbacks StreamAPI made to a site, queued in the outbox as their events happen on
 * this node: `start_live` when a session goes live, `end_live` (duration in minutes, viewers)
 * and `end_record` (duration in seconds, the recording's url and filename) when it ends.
 */
export function siteCallbacks(core: Core, publicUrl: string, viewers: (streamId: string) => { total: number; max: number }) {
  return async (event: DomainEvent): Promise<void> => {
    if (event.type !== 'broadcast.started' && event.type !== 'broadcast.ended') return;
    const session = await core.siteSessions.ofStream(event.streamId);
    if (!session) return;
    const site = await core.sites.get(session.siteId);
    if (!site?.callbackUrl || site.revokedAt) return;
    if (event.type === 'broadcast.started') {
      await core.callbacks.enqueue(site.callbackUrl, 'start_live', { action: 'start_live', public_hostid: session.publicHostId });
      return;
    }
    const broadcast = await core.broadcasts.get(event.streamId, event.broadcastId);
    if (!broadcast) return;
    const recording = await core.broadcasts.recording(broadcast);
    const stats = viewers(event.streamId);
    await core.callbacks.enqueue(site.callbackUrl, 'end_live', {
      action: 'end_live',
      public_hostid: session.publicHostId,
      channel_id: event.broadcastId,
      duration: String(Math.round(broadcast.duration / 60)),
      viewers: String(stats.total),
      max_viewers: String(stats.max),
    });
    if (recording.segments.length > 0) {
      await core.callbacks.enqueue(site.callbackUrl, 'end_record', {
        action: 'end_record',
        public_hostid: session.publicHostId,
        duration: String(Math.round(recording.duration)),
        url: `${publicUrl}/hls/${event.streamId}/${event.broadcastId}/vod.m3u8`,
        filename: `${event.broadcastId}/vod.m3u8`,
      });
    }
  };
}
