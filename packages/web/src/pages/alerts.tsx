import { useState } from 'react';
import { type Alert, type AlertStatus, listAlerts, setAlertStatus, toAlert } from '../api/client.ts';
import { AuthImage } from '../components/auth-image.tsx';
import { ErrorBox, errorMessage, formatTime, Spinner } from '../components/ui.tsx';
import { useLoaded } from '../components/use-loaded.ts';
import { useLive, useLiveMessages } from '../live.tsx';

type Filter = AlertStatus | 'all';
const FILTERS: { key: Filter; label: string }[] = [
  { key: 'new', label: 'New' },
  { key: 'acknowledged', label: 'Acknowledged' },
  { key: 'resolved', label: 'Resolved' },
  { key: 'all', label: 'All' },
];

const matches = (a: Alert, f: Filter) => f === 'all' || a.status === f;

export function AlertsPage() {
  const [filter, setFilter] = useState<Filter>('new');
  const {
    value: alerts,
    setValue: setAlerts,
    error,
  } = useLoaded(
    (signal) =>
      listAlerts({ status: filter === 'all' ? undefined : filter, limit: '200' }, signal).then(
        (r) => r.items,
      ),
    filter,
  );

  const upsert = (a: Alert) =>
    setAlerts((prev) => {
      if (!prev) return prev;
      const i = prev.findIndex((x) => x.id === a.id);
      if (i >= 0) {
        // keep it in place (so a click does not make it jump away); merge the new fields in
        const next = [...prev];
        next[i] = { ...prev[i], ...a, snapshotUrl: a.snapshotUrl ?? prev[i]?.snapshotUrl ?? null } as Alert;
        return next;
      }
      if (!matches(a, filter)) return prev;
      return [a, ...prev].sort((x, y) => y.at - x.at);
    });

  useLiveMessages((m) => {
    if (m.type !== 'alert' && m.type !== 'alert-updated') return;
    const a = toAlert(m.data);
    if (a) upsert(a);
  });

  return (
    <main className="page">
      <div className="toolbar">
        <h1>Alerts</h1>
        <fieldset className="segmented">
          <legend className="sr-only">Filter by status</legend>
          {FILTERS.map((f) => (
            <button
              key={f.key}
              type="button"
              aria-pressed={filter === f.key}
              className={filter === f.key ? 'active' : ''}
              onClick={() => setFilter(f.key)}
              data-testid={`alert-filter-${f.key}`}
            >
              {f.label}
            </button>
          ))}
        </fieldset>
      </div>
      {error ? <ErrorBox message={error} /> : null}
      {!alerts && !error ? <Spinner label="Loading alerts…" /> : null}
      {alerts && alerts.length === 0 ? (
        <p className="card empty muted">{filter === 'new' ? 'No new alerts. All clear.' : 'No alerts.'}</p>
      ) : null}
      {alerts && alerts.length > 0 ? (
        <ul className="alert-list" aria-label="Alerts">
          {alerts.map((a) => (
            <AlertItem key={a.id} alert={a} onChange={upsert} />
          ))}
        </ul>
      ) : null}
    </main>
  );
}

function AlertItem({ alert, onChange }: { alert: Alert; onChange: (a: Alert) => void }) {
  const { noteAlert } = useLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function change(status: 'acknowledged' | 'resolved') {
    setBusy(true);
    setError(null);
    try {
      const updated = await setAlertStatus(alert.id, status);
      onChange(updated);
      noteAlert(updated);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li
      className={`card alert-item status-${alert.status}`}
      data-testid="alert-item"
      data-alert-id={alert.id}
      data-status={alert.status}
    >
      <AuthImage src={alert.snapshotUrl} alt={`Snapshot of alert ${alert.message}`} className="thumb" />
      <div className="alert-body">
        <div className="alert-top">
          <span className={`badge badge-${alert.status}`}>{alert.status}</span>
          <time className="muted small" dateTime={new Date(alert.at).toISOString()}>
            {formatTime(alert.at)}
          </time>
        </div>
        <p className="alert-message">{alert.message}</p>
        <p className="muted small">
          Rule <strong>{alert.ruleName}</strong> · camera{' '}
          <a href={`#/cameras/${encodeURIComponent(alert.cameraId)}`}>{alert.cameraId}</a>
          {/* system alerts (e.g. recording paused: disk full) have no object class or clip */}
          {isSystemAlert(alert) ? null : ` · ${alert.class} · ${alert.reason}`}
        </p>
        {error ? <ErrorBox message={error} /> : null}
        <div className="actions">
          {isSystemAlert(alert) ? null : (
            <a
              className="button-link"
              href={`#/cameras/${encodeURIComponent(alert.cameraId)}?t=${Math.max(0, alert.at - 5_000)}`}
              data-testid="play-clip"
            >
              ▶ Play the clip
            </a>
          )}
          {alert.status === 'new' ? (
            <button type="button" disabled={busy} onClick={() => change('acknowledged')}>
              Acknowledge
            </button>
          ) : null}
          {alert.status !== 'resolved' ? (
            <button type="button" className="primary" disabled={busy} onClick={() => change('resolved')}>
              Resolve
            </button>
          ) : null}
        </div>
      </div>
    </li>
  );
}

/** Alerts the system raises itself (rule ids `system:…`, e.g. a full disk) rather than a user's rule. */
const isSystemAlert = (a: Alert) => a.ruleId.startsWith('system:');
