import { useEffect, useState } from 'react';
import {
  type CameraDetail,
  getCamera,
  listEvents,
  OBJECT_CLASSES,
  type ObjectClass,
  type TrackEvent,
} from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { AuthImage } from '../components/auth-image.tsx';
import { LiveBoxes } from '../components/live-boxes.tsx';
import { LivePlayer } from '../components/live-player.tsx';
import { RecordingTimeline } from '../components/recording-timeline.tsx';
import {
  ErrorBox,
  errorMessage,
  formatDuration,
  formatTime,
  Spinner,
  StateBadge,
} from '../components/ui.tsx';
import { useLiveMessages } from '../live.tsx';
import { useRoute } from '../router.ts';

const RANGES = [
  { key: '1h', label: 'Last hour', ms: 3_600_000 },
  { key: '24h', label: 'Last 24 h', ms: 86_400_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

export function CameraPage({ id }: { id: string }) {
  const { session } = useAuth();
  const canEdit = session?.role === 'owner' || session?.role === 'admin';
  const [camera, setCamera] = useState<CameraDetail | null>(null);
  const [cameraError, setCameraError] = useState<string | null>(null);
  const [latest, setLatest] = useState<TrackEvent | null | undefined>(undefined);
  const [events, setEvents] = useState<TrackEvent[] | null>(null);
  const [eventsError, setEventsError] = useState<string | null>(null);
  const [cls, setCls] = useState<ObjectClass | ''>('');
  const [range, setRange] = useState<RangeKey>('24h');
  const route = useRoute();
  const playAt = route.name === 'camera' ? route.t : undefined;

  useEffect(() => {
    const ctrl = new AbortController();
    setCamera(null);
    setCameraError(null);
    getCamera(id, ctrl.signal)
      .then(setCamera)
      .catch((err) => {
        if (!ctrl.signal.aborted) setCameraError(errorMessage(err));
      });
    listEvents({ cameraId: id, limit: '20' }, ctrl.signal)
      .then((r) => setLatest(r.items.find((e) => e.snapshotUrl) ?? null))
      .catch(() => {
        if (!ctrl.signal.aborted) setLatest(null);
      });
    return () => ctrl.abort();
  }, [id]);

  useEffect(() => {
    const ctrl = new AbortController();
    setEvents(null);
    setEventsError(null);
    const ms = RANGES.find((r) => r.key === range)?.ms ?? 86_400_000;
    listEvents(
      { cameraId: id, class: cls || undefined, from: String(Date.now() - ms), limit: '200' },
      ctrl.signal,
    )
      .then((r) => setEvents(r.items))
      .catch((err) => {
        if (!ctrl.signal.aborted) setEventsError(errorMessage(err));
      });
    return () => ctrl.abort();
  }, [id, cls, range]);

  useLiveMessages((m) => {
    if (m.type !== 'camera-status') return;
    const s = m.data as { cameraId: string; state: CameraDetail['state']; problem: CameraDetail['problem'] };
    if (s.cameraId === id) setCamera((c) => (c ? { ...c, state: s.state, problem: s.problem ?? null } : c));
  });

  return (
    <main className="page">
      <p>
        <a href="#/cameras" className="back">
          ← All cameras
        </a>
      </p>
      {cameraError ? <ErrorBox message={cameraError} /> : null}
      <div className="camera-head">
        <h1>{camera?.name ?? id}</h1>
        {camera ? <StateBadge state={camera.state} problem={camera.problem} /> : null}
        {canEdit ? (
          <a className="button-link" href={`#/cameras/${encodeURIComponent(id)}/edit`}>
            Edit camera
          </a>
        ) : null}
      </div>
      <section className="card live-section" aria-label="Live view">
        <h2>Live</h2>
        <LivePlayer cameraId={id} />
      </section>
      <section className="card camera-latest" aria-label="Latest snapshot">
        <div className="live-frame">
          <AuthImage src={latest?.snapshotUrl} alt="Latest snapshot" className="large" />
          <LiveBoxes cameraId={id} />
        </div>
        {latest ? (
          <p className="muted small">
            {latest.class} · {formatTime(latest.firstSeenAt)}
          </p>
        ) : null}
      </section>

      <RecordingTimeline cameraId={id} at={playAt} />

      <section aria-label="Events">
        <div className="toolbar">
          <h2>Events</h2>
          <label>
            Class{' '}
            <select
              value={cls}
              onChange={(e) => setCls(e.target.value as ObjectClass | '')}
              data-testid="class-filter"
            >
              <option value="">All classes</option>
              {OBJECT_CLASSES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label>
            Time{' '}
            <select
              value={range}
              onChange={(e) => setRange(e.target.value as RangeKey)}
              data-testid="range-filter"
            >
              {RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {eventsError ? <ErrorBox message={eventsError} /> : null}
        {!events && !eventsError ? <Spinner label="Loading events…" /> : null}
        {events && events.length === 0 ? <p className="card empty muted">No events in this period.</p> : null}
        {events && events.length > 0 ? (
          <ul className="event-list">
            {events.map((e) => (
              <li
                key={e.trackId}
                className="card event"
                data-testid="event-item"
                data-track-id={e.trackId}
                data-class={e.class}
              >
                <AuthImage
                  src={e.snapshotUrl}
                  alt={`${e.class} at ${formatTime(e.firstSeenAt)}`}
                  className="thumb"
                />
                <div>
                  <strong className="event-class">{e.class}</strong>
                  <div className="muted small">
                    <time dateTime={new Date(e.firstSeenAt).toISOString()}>{formatTime(e.firstSeenAt)}</time>{' '}
                    · {formatDuration(e.durationMs)}
                    {e.endedAt === null ? ' · still in view' : ''}
                  </div>
                  <div className="muted small">score {(e.score * 100).toFixed(0)}%</div>
                </div>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
    </main>
  );
}
