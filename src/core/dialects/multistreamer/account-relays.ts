import type { IngestServers } from '../../relays/destinations.js';
import type { DomainEvent } from '../../kernel/events.js';
import { parseFfmpegArgs } from '../../relays/ffmpeg-args.js';
import { newId, type DestinationId, type StreamId } from '../../kernel/ids.js';
import { isNetworkName, network } from '../../relays/networks.js';
import type { NetworkAccountRow, StreamAccountRow } from '../../../store/repositories/dialects/multistreamer.js';
import type { Repositories } from '../../../store/store.js';

/**
 * A network account attached to a stream IS a relay destination of that stream: service
 * 'RTMP' with the account's whole publish URL (key included) and the ffmpeg arguments of the
 * attachment, else of the account. These functions keep the `destinations` row in step, in the
 * caller's transaction, and return the events to emit once it has committed, so that a live
 * stream's relays follow.
 */

export function parseSettings(json: string): Record<string, string> {
  const value: unknown = JSON.parse(json);
  const out: Record<string, string> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function relayTarget(account: NetworkAccountRow, ffmpegArgs: string | null, servers: IngestServers): { stream_key: string; ffmpeg_args: string | null } {
  if (!isNetworkName(account.network)) throw new Error(`network account ${account.id} has an unknown network`);
  const url = network(account.network).publishUrl(parseSettings(account.settings), servers);
  // Both texts were checked when they were stored; the attachment's arguments win over the account's.
  const text = ffmpegArgs ?? account.ffmpeg_args;
  const argv = text === null ? null : parseFfmpegArgs(text);
  return { stream_key: url, ffmpeg_args: argv === null ? null : JSON.stringify(argv) };
}

export async function attachAccount(
  tx: Repositories,
  streamId: string,
  account: NetworkAccountRow,
  input: { settings: Record<string, string>; ffmpegArgs: string | null },
  servers: IngestServers,
  now: string,
): Promise<DomainEvent> {
  const destinationId = newId<'DestinationId'>();
  const number = await tx.sequences.next('destination');
  const target = relayTarget(account, input.ffmpegArgs, servers);
  // The key is the account owner's secret, whoever owns the stream.
  await tx.destinations.insert({ id: destinationId, number, stream_id: streamId, service: 'RTMP', url: null, enabled: 1, created_at: now, key_owner_id: account.owner_id, ...target });
  await tx.streamAccounts.insert({
    stream_id: streamId,
    network_account_id: account.id,
    settings: JSON.stringify(input.settings),
    ffmpeg_args: input.ffmpegArgs,
    destination_id: destinationId,
    created_at: now,
    updated_at: now,
  });
  return { type: 'destination.added', streamId: streamId as StreamId, destinationId };
}

/** Points the attachment's relay at the account's current URL and arguments. */
export async function retarget(tx: Repositories, attachment: StreamAccountRow, account: NetworkAccountRow, servers: IngestServers): Promise<DomainEvent> {
  const target = relayTarget(account, attachment.ffmpeg_args, servers);
  await tx.streamAccounts.updateDestination(attachment.destination_id, target.stream_key, target.ffmpeg_args);
  return { type: 'destination.updated', streamId: attachment.stream_id as StreamId, destinationId: attachment.destination_id as DestinationId };
}

export async function detach(tx: Repositories, attachment: StreamAccountRow): Promise<DomainEvent> {
  await tx.streamAccounts.delete(attachment.stream_id, attachment.network_account_id);
  await tx.destinations.delete(attachment.destination_id);
  return { type: 'destination.removed', streamId: attachment.stream_id as StreamId, destinationId: attachment.destination_id as DestinationId };
}
