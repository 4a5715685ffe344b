import { useCallback, useEffect, useState } from 'preact/hooks';
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks, messageOf, redeliver, type Delivery, type Webhook } from '../api.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { SecretOnce } from '../components/SecretOnce.js';
import { useHeading } from '../focus.js';

/** The events a webhook may ask for (none chosen: every event). */
const EVENT_CHOICES = [
  'video.live_stream.active',
  'video.live_stream.idle',
  'video.live_stream.connected',
  'video.live_stream.disconnected',
  'video.asset.ready',
  'video.asset.live_stream_completed',
  'video.live_stream.simulcast_target.errored',
];

function at(iso: string): string {
  const time = Date.parse(iso);
  return Number.isFinite(time) ? new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : iso;
}

/** Webhook endpoints: add one (its signing secret shown once), see each delivery, send one again, delete. */
export function Webhooks() {
  const heading = useHeading('Webhooks');
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [urlError, setUrlError] = useState<string | null>(null);
  const [made, setMade] = useState<Webhook | null>(null);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState<Webhook | null>(null);

  const load = useCallback(async () => {
    try {
      setHooks(await listWebhooks());
    } catch (err) {
      setError(`Could not load the webhooks: ${messageOf(err)}`);
    }
  }, []);
  useEffect(() => void load(), [load]);

  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Webhooks
        </h1>
      </div>
      <p class="lead">
        Events are POSTed as JSON with a <code>mux-signature</code> header, so <code>mux.webhooks.unwrap</code> verifies them with the signing secret.
      </p>
      <form
        class="card stack"
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          setUrlError(null);
          if (!/^https?:\/\/\S+$/i.test(url.trim())) {
            setUrlError('Enter an http:// or https:// URL.');
            return;
          }
          setBusy(true);
          try {
            setMade(await createWebhook(url.trim(), events.length > 0 ? events : null));
            setUrl('');
            setEvents([]);
            await load();
          } catch (err) {
            setUrlError(`Could not add the webhook: ${messageOf(err)}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="hook-url">URL</label>
          <input id="hook-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://example.com/hooks/streamdelta" aria-describedby="hook-url-error" />
          <span id="hook-url-error">
            <ErrorMessage message={urlError} />
          </span>
        </div>
        <fieldset>
          <legend>Events (none chosen: all of them)</legend>
          {EVENT_CHOICES.map((type) => (
            <label key={type} class="check">
              <input
                type="checkbox"
                checked={events.includes(type)}
                onChange={(e) => setEvents((list) => (e.currentTarget.checked ? [...list, type] : list.filter((t) => t !== type)))}
              />{' '}
              {type}
            </label>
          ))}
        </fieldset>
        <div class="actions">
          <button type="submit" aria-disabled={busy}>
            Add webhook
          </button>
          <span class="progress" role="status">
            {busy ? 'Adding…' : ''}
          </span>
        </div>
      </form>
      {made?.signing_secret && <SecretOnce label="Signing secret" value={made.signing_secret} id="signing-secret" />}
      <ErrorMessage message={error} />
      <section aria-labelledby="hooks-heading" class="stack">
        <h2 id="hooks-heading">Your webhooks</h2>
        {hooks === null && !error && <p role="status">Loading…</p>}
        {hooks?.length === 0 && <p class="empty">No webhooks yet.</p>}
        {hooks?.map((hook) => (
          <WebhookCard key={hook.id} hook={hook} onDelete={() => setDeleting(hook)} />
        ))}
      </section>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this webhook?"
        confirm="Delete"
        onConfirm={async () => {
          const hook = deleting;
          setDeleting(null);
          if (!hook) return;
          try {
            await deleteWebhook(hook.id);
            await load();
          } catch (err) {
            setError(`Could not delete the webhook: ${messageOf(err)}`);
          }
        }}
        onCancel={() => setDeleting(null)}
      >
        <p>Nothing more is sent to {deleting?.url}.</p>
      </ConfirmDialog>
    </main>
  );
}

/** One endpoint with its delivery log (refreshed on request) and `Redeliver` per attempt. */
function WebhookCard({ hook, onDelete }: { hook: Webhook; onDelete: () => void }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setDeliveries(await listDeliveries(hook.id));
      setError(null);
    } catch (err) {
      setError(`Could not load the deliveries: ${messageOf(err)}`);
    }
  }, [hook.id]);
  useEffect(() => void load(), [load]);
  const headingId = `hook-${hook.id}`;
  return (
    <article class="card stack" aria-labelledby={headingId}>
      <div class="page-head">
        <h3 id={headingId} class="hook-url">
          {hook.url}
        </h3>
        <span class="badge">{hook.enabled ? 'Enabled' : 'Disabled'}</span>
      </div>
      <p class="hint">{hook.events ? `Events: ${hook.events.join(', ')}` : 'Every event'}</p>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void load()} aria-label={`Refresh the deliveries of ${hook.url}`}>
          Refresh
        </button>
        <button type="button" class="danger" onClick={onDelete} aria-label={`Delete the webhook ${hook.url}`}>
          Delete
        </button>
      </div>
      <ErrorMessage message={error} />
      <p role="status" class="notice-slot">
        {notice}
      </p>
      {deliveries?.length === 0 && <p class="empty">No deliveries yet.</p>}
      {deliveries && deliveries.length > 0 && (
        <table class="deliveries">
          <caption class="visually-hidden">Deliveries to {hook.url}</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Time</th>
              <th scope="col">Took</th>
              <th scope="col">
                <span class="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id}>
                <td>{d.event_type}</td>
                <td>{d.response_status_code !== null ? d.response_status_code : `Failed: ${d.error ?? 'no answer'}`}</td>
                <td>{at(d.created_at)}</td>
                <td>{d.duration_ms} ms</td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Redeliver ${d.event_type} of ${at(d.created_at)}`}
                    onClick={async () => {
                      try {
                        await redeliver(hook.id, d.id);
                        setNotice(`${d.event_type} queued again.`);
                        setTimeout(() => void load(), 1500);
                      } catch (err) {
                        setError(`Could not redeliver: ${messageOf(err)}`);
                      }
                    }}
                  >
                    Redeliver
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}
