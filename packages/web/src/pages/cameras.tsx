import { useCallback, useEffect, useState } from 'react';
import { type Camera, listCameras, listEvents, type TrackEvent } from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { AuthImage } from '../components/auth-image.tsx';
import { LiveBoxes } from '../components/live-boxes.tsx';
import { ErrorBox, formatTime, Spinner, StateBadge } from '../components/ui.tsx';
import { useLoaded } from '../components/use-loaded.ts';
import { useLiveMessages } from '../live.tsx';

const RECENT_MS = 5 * 60_000;
const REFRESH_MS = 30_000;

interface CameraStatusData {
  cameraId: string;
  state: Camera['state'];
  at: number;
  problem: Camera['problem'];
}

export function CamerasPage() {
  const { session } = useAuth();
  const canEdit = session?.role === 'owner' || session?.role === 'admin';
  const {
    value: cameras,
    setValue: setCameras,
    error,
  } = useLoaded((signal) => listCameras(signal).then((r) => r.items));

  useLiveMessages((m) => {
    if (m.type !== 'camera-status') return;
    const s = m.data as CameraStatusData;
    setCameras(
      (prev) =>
        prev?.map((c) =>
          c.id === s.cameraId ? { ...c, state: s.state, problem: s.problem ?? null, stateAt: s.at } : c,
        ) ?? prev,
    );
  });

  return (
    <main className="page">
      <h1>Cameras</h1>
      {canEdit ? (
        <p className="toolbar">
          <a href="#/cameras/new" className="button-link" data-testid="add-camera">
            Add camera
          </a>
        </p>
      ) : null}
      {error ? <ErrorBox message={error} /> : null}
      {!cameras && !error ? <Spinner label="Loading cameras…" /> : null}
      {cameras && cameras.length === 0 ? (
        <div className="card empty">
          <p>No cameras yet.</p>
          <p className="muted">Add a camera with the CLI or the API, and it will show up here.</p>
        </div>
      ) : null}
      {cameras && cameras.length > 0 ? (
        <ul className="grid" aria-label="Cameras">
          {cameras.map((c) => (
            <li key={c.id}>
              <CameraTile camera={c} />
            </li>
          ))}
        </ul>
      ) : null}
    </main>
  );
}

function CameraTile({ camera }: { camera: Camera }) {
  const [recent, setRecent] = useState<TrackEvent[] | null>(null);
  const [snapshot, setSnapshot] = useState<TrackEvent | null | undefined>(undefined);

  const load = useCallback(
    async (signal: AbortSignal) => {
      const [latest, lastMinutes] = await Promise.all([
        listEvents({ cameraId: camera.id, limit: '20' }, signal),
        listEvents({ cameraId: camera.id, from: String(Date.now() - RECENT_MS), limit: '500' }, signal),
      ]);
      setSnapshot(latest.items.find((e) => e.snapshotUrl) ?? null);
      setRecent(lastMinutes.items);
    },
    [camera.id],
  );

  useEffect(() => {
    const ctrl = new AbortController();
    const run = () => {
      load(ctrl.signal).catch(() => {});
    };
    run();
    const t = setInterval(run, REFRESH_MS);
    return () => {
      clearInterval(t);
      ctrl.abort();
    };
  }, [load]);

  const counts = new Map<string, number>();
  for (const e of recent ?? []) counts.set(e.class, (counts.get(e.class) ?? 0) + 1);

  return (
    <a
      className="card tile"
      href={`#/cameras/${encodeURIComponent(camera.id)}`}
      data-testid="camera-tile"
      data-camera-id={camera.id}
      data-state={camera.state}
    >
      <div className="live-frame">
        <AuthImage src={snapshot?.snapshotUrl} alt={`Latest snapshot of ${camera.name}`} />
        <LiveBoxes cameraId={camera.id} />
      </div>
      <div className="tile-body">
        <div className="tile-head">
          <h2>{camera.name}</h2>
          <StateBadge state={camera.state} problem={camera.problem} />
        </div>
        <p className="muted small">
          {snapshot
            ? `Last seen ${formatTime(snapshot.firstSeenAt)}`
            : snapshot === null
              ? 'No events yet'
              : '\u00a0'}
        </p>
        <div className="recent" data-testid="recent-objects">
          <span className="muted small">Last 5 min:</span>{' '}
          {recent === null ? (
            <span className="muted small">…</span>
          ) : counts.size === 0 ? (
            <span className="muted small">nothing seen</span>
          ) : (
            [...counts.entries()]
              .sort((a, b) => b[1] - a[1])
              .map(([cls, n]) => (
                <span key={cls} className="chip" data-class={cls}>
                  {cls} × {n}
                </span>
              ))
          )}
        </div>
      </div>
    </a>
  );
}
