import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MediaMetrics } from '../../media/media-plane.js';
import type { DeliveryResult } from '../../jobs/callback-dispatcher.js';
import type { AnsweredRequest } from '../http.js';

/** Where the numbers read at each scrape come from. */
export interface MetricSources {
  media: () => MediaMetrics;
}

/**
 * How much a total kept elsewhere grew since the last call (the media plane counts bytes as it
 * moves them, with no metric on its path): what a counter adds at each scrape.
 */
function followTotal(read: () => number | undefined): () => number {
  let last = 0;
  return () => {
    const total = read() ?? last;
    const grown = Math.max(0, total - last);
    last = Math.max(last, total);
    return grown;
  };
}

/**
 * This node's metrics in Prometheus' text format (prom-client), every series labelled with the
 * node id: what the media plane carries (read when scraped, nothing counted on the media path),
 * segment write latency, relays by status, webhook deliveries by result, HTTP requests by route
 * and status with their durations, and Node's own process metrics with the event loop's lag.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private readonly segmentWrites: Histogram;
  private readonly deliveries: Counter<'result'>;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly durations: Histogram<'method' | 'route'>;
  private readonly egress: Counter<'to'>;
  /** The media plane's numbers for the scrape in progress. */
  private reading: MediaMetrics | undefined;

  constructor(nodeId: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    // The event loop's delay is sampled once a second, not every 10 ms (prom-client's default):
    // an idle node must stay idle.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
    // Every media series of one scrape comes from one reading, taken as the scrape starts.
    const read = (): MediaMetrics | undefined => this.reading;
    new Gauge({
      name: 'streamdelta_live_streams',
      help: 'Broadcasts live on this node (publishing, or within their reconnect window)',
      registers,
      collect() {
        this.set(read()?.liveStreams ?? 0);
      },
    });
    new Gauge({
      name: 'streamdelta_publishers',
      help: 'Publishers connected to this node',
      registers,
      collect() {
        this.set(read()?.publishers ?? 0);
      },
    });
    new Gauge({
      name: 'streamdelta_viewers',
      help: 'Players of live streams on this node: RTMP connections, and HLS players seen in the last 15 s',
      labelNames: ['protocol'] as const,
      registers,
      collect() {
        const m = read();
        this.set({ protocol: 'rtmp' }, m?.rtmpViewers ?? 0);
        this.set({ protocol: 'hls' }, m?.hlsViewers ?? 0);
      },
    });
    new Gauge({
      name: 'streamdelta_relay_targets',
      help: "This node's relays to destinations (simulcast targets) by status",
      labelNames: ['status'] as const,
      registers,
      collect() {
        const relays = read()?.relays;
        for (const status of ['idle', 'connecting', 'live', 'error'] as const) this.set({ status }, relays?.[status] ?? 0);
      },
    });
    const ingest = followTotal(() => read()?.ingestBytes);
    new Counter({
      name: 'streamdelta_ingest_bytes_total',
      help: 'Audio, video and data bytes received from publishers',
      registers,
      collect() {
        this.inc(ingest());
      },
    });
    const rtmp = followTotal(() => read()?.rtmpSentBytes);
    const relays = followTotal(() => read()?.relaySentBytes);
    this.egress = new Counter({
      name: 'streamdelta_egress_bytes_total',
      help: 'Bytes sent: to RTMP connections, to relay destinations, and in HTTP answers of a known length (HLS among them)',
      labelNames: ['to'] as const,
      registers,
      collect() {
        this.inc({ to: 'rtmp' }, rtmp());
        this.inc({ to: 'relays' }, relays());
      },
    });
    this.segmentWrites = new Histogram({
      name: 'streamdelta_segment_write_seconds',
      help: 'From a segment being cut to its bytes being stored, before the live playlist lists it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.deliveries = new Counter({
      name: 'streamdelta_webhook_deliveries_total',
      help: 'Attempts at delivering webhooks and callbacks, by result: delivered, failed (retried later), given_up',
      labelNames: ['result'] as const,
      registers,
    });
    this.requests = new Counter({
      name: 'streamdelta_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
    this.durations = new Histogram({
      name: 'streamdelta_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method and route pattern',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
  }

  /** Where the media series are read (the media plane starts after the HTTP server is built). */
  readFrom(sources: MetricSources): void {
    this.sources = sources;
  }

  segmentWritten(seconds: number): void {
    this.segmentWrites.observe(seconds);
  }

  delivery(result: DeliveryResult): void {
    this.deliveries.inc({ result });
  }

  answered(request: AnsweredRequest): void {
    const status = String(request.status);
    this.requests.inc({ method: request.method, route: request.route, status });
    this.durations.observe({ method: request.method, route: request.route }, request.seconds);
    if (request.bytes > 0) this.egress.inc({ to: 'http' }, request.bytes);
  }

  /** The text a Prometheus server scrapes, and its content type. */
  async exposition(): Promise<{ body: string; contentType: string }> {
    this.reading = this.sources?.media();
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
