/**
 * A stream's chat, shared by the public watch page (guests pick a name) and the dashboard's
 * stream page (the owner posts as their account, deletes messages and mutes chatters). History
 * comes from `/app/api/chat/<room>/messages`, then every new message and deletion over a
 * Server-Sent Events stream, so messages appear for everyone within a second.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, request } from '../api.js';
import { ErrorMessage } from './ErrorMessage.js';
import './chat.css';

export interface ChatLine {
  id: number;
  kind: string;
  name: string;
  account: boolean;
  network: string;
  text: string;
  status: string | null;
  at: string;
}

const roomPath = (room: string, rest: string, token?: string) => `/app/api/chat/${encodeURIComponent(room)}/${rest}${token ? `?token=${encodeURIComponent(token)}` : ''}`;

/** The random id that marks this browser's posts as one chatter's (kept, so a reload is the same chatter). */
function chatterId(): string {
  let id = localStorage.getItem('sd_chatter');
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
    id = crypto.randomUUID();
    localStorage.setItem('sd_chatter', id);
  }
  return id;
}

/** The room's messages as they come and go, whether the live connection is up, and how the viewer count changes. */
export function useChat(room: string, token?: string, onViewers?: (viewers: number) => void) {
  const [lines, setLines] = useState<ChatLine[]>([]);
  const [connected, setConnected] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const viewersRef = useRef(onViewers);
  viewersRef.current = onViewers;

  useEffect(() => {
    const merge = (incoming: ChatLine[]) =>
      setLines((current) => {
        const byId = new Map(current.map((l) => [l.id, l]));
        for (const line of incoming) byId.set(line.id, line);
        return [...byId.values()].sort((a, b) => a.id - b.id).slice(-200);
      });
    const loadHistory = () =>
      request<{ data: ChatLine[] }>('GET', roomPath(room, 'messages', token), { authFlow: true }).then(
        (answer) => (setLoadError(null), merge(answer.data)),
        (err) => setLoadError(`Could not load the chat: ${messageOf(err)}`),
      );
    const source = new EventSource(roomPath(room, 'events', token));
    source.addEventListener('message', (event) => merge([JSON.parse((event as MessageEvent<string>).data) as ChatLine]));
    source.addEventListener('deleted', (event) => {
      const { id } = JSON.parse((event as MessageEvent<string>).data) as { id: number };
      setLines((current) => current.filter((l) => l.id !== id));
    });
    source.addEventListener('viewers', (event) => viewersRef.current?.((JSON.parse((event as MessageEvent<string>).data) as { viewers: number }).viewers));
    // Each (re)opening fetches the history again: what was said while the stream was down came by no event.
    source.onopen = () => (setConnected(true), void loadHistory());
    source.onerror = () => setConnected(false);
    return () => source.close();
  }, [room, token]);

  return { lines, setLines, connected, loadError };
}

function time(at: string): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The chat: its messages, and a form to write one. `moderate` shows Delete and Mute on others' messages (the owner's dashboard). */
export function ChatPanel({ room, token, mode, onViewers, headingLevel = 2 }: { room: string; token?: string; mode: 'guest' | 'owner'; onViewers?: (viewers: number) => void; headingLevel?: 2 | 3 }) {
  const { lines, connected, loadError } = useChat(room, token, onViewers);
  const [name, setName] = useState(() => (mode === 'guest' ? (localStorage.getItem('sd_chat_name') ?? '') : ''));
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<{ field: 'name' | 'form'; message: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const Heading = headingLevel === 2 ? 'h2' : 'h3';

  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines.length]);

  const send = async (event: Event) => {
    event.preventDefault();
    if (sending || !text.trim()) return;
    const trimmedName = name.trim();
    if (mode === 'guest' && (trimmedName.length < 1 || [...trimmedName].length > 32)) {
      setError({ field: 'name', message: 'Pick a name of 1 to 32 characters.' });
      return;
    }
    setSending(true);
    setError(null);
    try {
      if (mode === 'guest') localStorage.setItem('sd_chat_name', trimmedName);
      const body = mode === 'guest' ? { text, name: trimmedName, chatterId: chatterId() } : { text };
      await request('POST', roomPath(room, 'messages', token), { body, authFlow: mode === 'guest' });
      setText('');
    } catch (err) {
      setError({ field: 'form', message: `Could not send: ${messageOf(err)}` });
    } finally {
      setSending(false);
    }
  };

  const moderate = async (what: 'delete' | 'mute', line: ChatLine) => {
    setError(null);
    setNotice(null);
    try {
      if (what === 'delete') await request('DELETE', roomPath(room, `messages/${line.id}`));
      else {
        await request('POST', roomPath(room, 'mutes'), { body: { messageId: line.id } });
        setNotice(`${line.name} is muted: their messages are refused from now on.`);
      }
    } catch (err) {
      setError({ field: 'form', message: `Could not ${what} ${what === 'delete' ? 'the message' : line.name}: ${messageOf(err)}` });
    }
  };

  return (
    <section class="card chat" aria-labelledby={`chat-heading-${room}`}>
      <Heading id={`chat-heading-${room}`}>Chat</Heading>
      {!connected && (
        <p class="banner" role="status">
          Chat connection lost. Reconnecting…
        </p>
      )}
      <ErrorMessage message={loadError} />
      <ol class="chat-lines" ref={list} aria-label="Chat messages" aria-live="polite" tabIndex={0}>
        {lines.length === 0 && <li class="hint">No messages yet.</li>}
        {lines.map((line) => (
          <li key={line.id} class={line.kind === 'status' ? 'chat-status' : 'chat-line'}>
            {line.kind === 'status' ? (
              <span>{line.text}</span>
            ) : (
              <>
                <span class="chat-meta">
                  <time dateTime={line.at}>{time(line.at)}</time> <strong class="chat-name">{line.name}</strong>
                  {line.account && <span class="chat-host">host</span>}
                </span>{' '}
                <span class="chat-text">{line.kind === 'emote' ? <em>{line.text}</em> : line.text}</span>
                {mode === 'owner' && (
                  <span class="chat-tools">
                    <button type="button" class="secondary small" aria-label={`Delete message from ${line.name}: ${line.text.slice(0, 40)}`} onClick={() => void moderate('delete', line)}>
                      Delete
                    </button>
                    {!line.account && line.network === 'streamdelta' && (
                      <button type="button" class="danger-outline small" aria-label={`Mute ${line.name}`} onClick={() => void moderate('mute', line)}>
                        Mute
                      </button>
                    )}
                  </span>
                )}
              </>
            )}
          </li>
        ))}
      </ol>
      <p class="progress" role="status">
        {notice}
      </p>
      <form class="chat-form" onSubmit={send} noValidate>
        {mode === 'guest' && (
          <div class="field">
            <label for={`chat-name-${room}`}>Your name</label>
            <input
              id={`chat-name-${room}`}
              maxLength={32}
              value={name}
              autocomplete="nickname"
              onInput={(e) => setName(e.currentTarget.value)}
              aria-invalid={error?.field === 'name'}
              aria-describedby={error?.field === 'name' ? `chat-name-error-${room}` : undefined}
            />
            {error?.field === 'name' && <ErrorMessage message={error.message} id={`chat-name-error-${room}`} />}
          </div>
        )}
        <div class="field">
          <label for={`chat-text-${room}`}>Message</label>
          <div class="copy-row">
            <input id={`chat-text-${room}`} maxLength={500} value={text} autocomplete="off" onInput={(e) => setText(e.currentTarget.value)} />
            <button type="submit" aria-disabled={sending}>
              {sending ? 'Sending…' : 'Send'}
            </button>
          </div>
        </div>
        {error?.field === 'form' && <ErrorMessage message={error.message} />}
      </form>
    </section>
  );
}
