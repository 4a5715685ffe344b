/**
 * Live updates: one EventSource on `/system/v1/events` (the session cookie goes with it), shared
 * by every part of the page that listens. The browser reconnects by itself after a drop (and
 * resends Last-Event-ID); when it gives up (the server refused the stream), the hub opens a new
 * one with a growing delay. Each time the stream opens, listeners are told to fetch afresh: the
 * stream starts with what happens next, so what happened before it opened came by no event.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from './api.js';
import { streamChangeOf, type StreamChange } from './state.js';

/** The live stream events the server sends (`video.live_stream.simulcast_target.*` are not about the stream itself). */
const STREAM_EVENTS = ['created', 'updated', 'enabled', 'disabled', 'deleted', 'connected', 'recording', 'active', 'disconnected', 'idle'].map((t) => `video.live_stream.${t}`);

type ChangeListener = (change: StreamChange) => void;
type ConnectionListener = (connected: boolean) => void;

const changeListeners = new Set<ChangeListener>();
const connectionListeners = new Set<ConnectionListener>();
/** Called when the stream is open again after a loss: what is on screen may be stale. */
const resyncListeners = new Set<() => void>();

let source: EventSource | undefined;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retryDelay = 1000;
let closeTimer: ReturnType<typeof setTimeout> | undefined;
let connected = false;

function setConnected(value: boolean): void {
  if (connected === value) return;
  connected = value;
  for (const listener of connectionListeners) listener(value);
}

function open(): void {
  const es = new EventSource('/system/v1/events');
  source = es;
  for (const type of STREAM_EVENTS) {
    es.addEventListener(type, (event) => {
      let body: unknown;
      try {
        body = JSON.parse((event as MessageEvent<string>).data);
      } catch {
        return;
      }
      const change = streamChangeOf(type, body);
      if (change) for (const listener of changeListeners) listener(change);
    });
  }
  for (const type of otherListeners.keys()) listenOther(es, type);
  es.onopen = () => {
    retryDelay = 1000;
    setConnected(true);
    // Whatever happened before the stream was open (or while it was down) came by no event.
    for (const listener of resyncListeners) listener();
  };
  es.onerror = () => {
    setConnected(false);
    if (es.readyState !== EventSource.CLOSED) return; // the browser is reconnecting by itself
    es.close();
    if (source !== es) return;
    source = undefined;
    scheduleReopen();
  };
}

/** Opens a new stream after a growing delay, once the session is known to be there still. */
function scheduleReopen(): void {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = undefined;
    if (changeListeners.size === 0 || source) return;
    // A refused stream may mean the session ended: asking for it lets the app notice (and sign out).
    request('GET', '/app/api/session').then(
      () => {
        if (changeListeners.size > 0 && !source) open();
      },
      () => {
        if (changeListeners.size > 0 && !source) scheduleReopen();
      },
    );
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30_000);
}

function close(): void {
  source?.close();
  source = undefined;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = undefined;
  retryDelay = 1000;
  setConnected(false);
}

function subscribe(listener: ChangeListener, resync: () => void): () => void {
  changeListeners.add(listener);
  resyncListeners.add(resync);
  if (closeTimer) clearTimeout(closeTimer);
  closeTimer = undefined;
  if (!source && !retryTimer) open();
  return () => {
    changeListeners.delete(listener);
    resyncListeners.delete(resync);
    // Moving from one page to another keeps the stream (and its place in the log).
    if (changeListeners.size === 0 && !closeTimer) {
      closeTimer = setTimeout(() => {
        closeTimer = undefined;
        if (changeListeners.size === 0) close();
      }, 1000);
    }
  };
}

/**
 * Calls `onChange` for every change to a live stream while the component is mounted, and
 * `onResync` when updates were interrupted and are flowing again (fetch afresh then).
 */
export function useStreamChanges(onChange: ChangeListener, onResync: () => void): void {
  const handlers = useRef({ onChange, onResync });
  handlers.current = { onChange, onResync };
  useEffect(
    () =>
      subscribe(
        (change) => handlers.current.onChange(change),
        () => handlers.current.onResync(),
      ),
    [],
  );
}

/** Whether live updates are interrupted, once they have been for a moment (a quick reconnect shows nothing). */
export function useUpdatesInterrupted(delayMs = 2000): boolean {
  const [interrupted, setInterrupted] = useState(false);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listener: ConnectionListener = (up) => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (up) setInterrupted(false);
      else timer = setTimeout(() => setInterrupted(changeListeners.size > 0), delayMs);
    };
    connectionListeners.add(listener);
    return () => {
      connectionListeners.delete(listener);
      if (timer) clearTimeout(timer);
    };
  }, [delayMs]);
  return interrupted;
}

/** Ends live updates now (on sign out), whoever still listens. */
export function stopLiveUpdates(): void {
  if (closeTimer) clearTimeout(closeTimer);
  closeTimer = undefined;
  close();
}

// --- other events (a simulcast target's, an asset's), on the same stream ---

type EventListener = (type: string, body: unknown) => void;
/** Listeners of events other than a live stream's own, by event type (`useEvents`). */
const otherListeners = new Map<string, Set<EventListener>>();

function listenOther(es: EventSource, type: string): void {
  es.addEventListener(type, (event) => {
    let body: unknown;
    try {
      body = JSON.parse((event as MessageEvent<string>).data);
    } catch {
      return;
    }
    for (const listener of otherListeners.get(type) ?? []) listener(type, body);
  });
}

/**
 * Calls `onEvent` with each event of these types (its parsed body) while the component is
 * mounted, and `onResync` when updates were interrupted and are flowing again.
 */
export function useEvents(types: readonly string[], onEvent: EventListener, onResync: () => void): void {
  const handlers = useRef({ onEvent, onResync });
  handlers.current = { onEvent, onResync };
  const key = types.join(' ');
  useEffect(() => {
    const listener: EventListener = (type, body) => handlers.current.onEvent(type, body);
    for (const type of types) {
      let set = otherListeners.get(type);
      if (!set) {
        otherListeners.set(type, (set = new Set()));
        if (source) listenOther(source, type);
      }
      set.add(listener);
    }
    // Keeps the stream open while listening (its stream changes are not ours).
    const unsubscribe = subscribe(
      () => undefined,
      () => handlers.current.onResync(),
    );
    return () => {
      for (const type of types) otherListeners.get(type)?.delete(listener);
      unsubscribe();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
}
