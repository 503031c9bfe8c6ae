import { type PointerEvent, useEffect, useRef, useState } from 'react';
import {
  type Alert,
  listCameraAlerts,
  listEvents,
  listRecordings,
  type RecordingRange,
  type TrackEvent,
} from '../api/client.ts';
import { RecordingPlayer, type SeekRequest } from './recording-player.tsx';
import { ErrorBox, errorMessage, formatTime } from './ui.tsx';

const HOUR = 3_600_000;
const ZOOMS = [1, 3, 6, 12, 24] as const;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/**
 * A camera's recordings on a time axis: recorded segments as bars (gaps show as empty track),
 * detections (tracks) and alerts as markers; zoom and pan by hours; click or drag to scrub, and
 * the player plays from that moment. `at`: open on this instant and play it (e.g. from an alert).
 */
export function RecordingTimeline({ cameraId, at }: { cameraId: string; at?: number | undefined }) {
  const [hours, setHours] = useState<number>(1);
  const [end, setEnd] = useState<number>(() => (at ? Math.min(Date.now(), at + HOUR / 2) : Date.now()));
  const [range, setRange] = useState<RecordingRange | null>(null);
  const [tracks, setTracks] = useState<TrackEvent[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(at ?? null);
  const [seek, setSeek] = useState<SeekRequest | null>(at ? { at, n: 0 } : null);
  const [playing, setPlaying] = useState<number | null>(null);
  const [playbackUrl, setPlaybackUrl] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const bar = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);
  const start = end - hours * HOUR;

  // a new alert time from the page: show it and play it (a change of zoom alone does not)
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new `at` re-centres the view
  useEffect(() => {
    if (!at) return;
    setEnd(Math.min(Date.now(), at + (hours * HOUR) / 2));
    setSelected(at);
    setSeek((s) => ({ at, n: (s?.n ?? 0) + 1 }));
  }, [at]);

  // the window's recordings, tracks and alerts; `playing` is read, not watched, and `reload`
  // (the Refresh button) fetches the same window again
  // biome-ignore lint/correctness/useExhaustiveDependencies: see above
  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    const from = Math.round(start);
    const to = Math.round(end);
    listRecordings(cameraId, from, to, ctrl.signal)
      .then((r) => {
        setRange(r);
        // keep playing what plays unless this window has something to play and nothing plays yet
        setPlaybackUrl((url) =>
          url && playing !== null && playing >= from && playing < to ? url : r.playbackUrl,
        );
      })
      .catch((err) => {
        if (!ctrl.signal.aborted) setError(errorMessage(err));
      });
    listEvents({ cameraId, from: String(from), to: String(to), limit: '500' }, ctrl.signal)
      .then((r) => setTracks(r.items))
      .catch(() => undefined);
    listCameraAlerts(cameraId, from, to, ctrl.signal)
      .then((r) => setAlerts(r.items))
      .catch(() => undefined);
    return () => ctrl.abort();
  }, [cameraId, start, end, reload]);

  // follow the present while looking at it (not while the user has picked a moment)
  useEffect(() => {
    if (Date.now() - end > 60_000 || selected !== null) return;
    const timer = setInterval(() => setEnd(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, [end, selected]);

  const pct = (t: number) => `${(clamp((t - start) / (end - start), 0, 1) * 100).toFixed(3)}%`;
  const timeAt = (clientX: number) => {
    const box = bar.current?.getBoundingClientRect();
    if (!box || box.width === 0) return start;
    return start + clamp((clientX - box.left) / box.width, 0, 1) * (end - start);
  };
  const play = (t: number) => {
    setSelected(t);
    if (range?.playbackUrl && playbackUrl !== range.playbackUrl) setPlaybackUrl(range.playbackUrl);
    setSeek((s) => ({ at: t, n: (s?.n ?? 0) + 1 }));
  };
  const onDown = (e: PointerEvent<HTMLDivElement>) => {
    dragging.current = true;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    setSelected(timeAt(e.clientX));
  };
  const onMove = (e: PointerEvent<HTMLDivElement>) => {
    if (dragging.current) setSelected(timeAt(e.clientX));
  };
  const onUp = (e: PointerEvent<HTMLDivElement>) => {
    if (!dragging.current) return;
    dragging.current = false;
    play(timeAt(e.clientX));
  };
  const pan = (dir: number) => setEnd((e) => Math.min(Date.now(), e + (dir * hours * HOUR) / 2));
  const ticks: number[] = [];
  const step = hours <= 1 ? HOUR / 6 : hours <= 6 ? HOUR : 3 * HOUR;
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  const head = playing ?? selected;

  return (
    <section className="card recording-timeline" aria-label="Recordings" data-testid="recording-timeline">
      <div className="toolbar">
        <h2>Recordings</h2>
        <div className="timeline-controls">
          <button type="button" onClick={() => pan(-1)} aria-label="Earlier">
            ◀ Earlier
          </button>
          <button type="button" onClick={() => pan(1)} aria-label="Later" disabled={Date.now() - end < 1000}>
            Later ▶
          </button>
          <button type="button" onClick={() => setEnd(Date.now())}>
            Now
          </button>
          <label>
            Show{' '}
            <select
              value={hours}
              onChange={(e) => {
                const h = Number(e.target.value);
                const centre = head ?? end - (hours * HOUR) / 2;
                setHours(h);
                setEnd(Math.min(Date.now(), centre + (h * HOUR) / 2));
              }}
              data-testid="timeline-zoom"
            >
              {ZOOMS.map((h) => (
                <option key={h} value={h}>
                  {h} h
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="ghost" onClick={() => setReload((n) => n + 1)}>
            Refresh
          </button>
        </div>
      </div>
      {error ? <ErrorBox message={error} /> : null}
      <div
        ref={bar}
        className="timeline-bar"
        data-testid="timeline-bar"
        data-from={Math.round(start)}
        data-to={Math.round(end)}
        role="slider"
        tabIndex={0}
        aria-label="Time"
        aria-valuemin={Math.round(start)}
        aria-valuemax={Math.round(end)}
        aria-valuenow={Math.round(head ?? start)}
        aria-valuetext={head ? formatTime(head) : 'nothing selected'}
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onKeyDown={(e) => {
          const base = head ?? start;
          if (e.key === 'ArrowLeft') play(Math.max(start, base - 10_000));
          if (e.key === 'ArrowRight') play(Math.min(end, base + 10_000));
        }}
      >
        {range?.segments.map((s) => (
          <div
            key={s.segmentId}
            className={`timeline-segment reason-${s.reason}`}
            data-testid="recording-segment"
            style={{ left: pct(s.startedAt), width: `calc(${pct(s.endedAt)} - ${pct(s.startedAt)})` }}
          />
        ))}
        {tracks.map((t) => (
          <div
            key={t.trackId}
            className="timeline-track"
            data-testid="timeline-track"
            title={`${t.class} · ${formatTime(t.firstSeenAt)}`}
            style={{ left: pct(t.firstSeenAt) }}
          />
        ))}
        {alerts.map((a) => (
          <button
            type="button"
            key={a.id}
            className="timeline-alert"
            data-testid="timeline-alert"
            title={`${a.message} · ${formatTime(a.at)}`}
            aria-label={`Play alert: ${a.message}`}
            style={{ left: pct(a.at) }}
            onPointerDown={(e) => e.stopPropagation()}
            onClick={() => play(a.at - 5_000)}
          />
        ))}
        {head !== null && head >= start && head <= end ? (
          <div className="timeline-head" data-testid="timeline-head" style={{ left: pct(head) }} />
        ) : null}
      </div>
      <div className="timeline-ticks" aria-hidden="true">
        {ticks.map((t) => (
          <span key={t} style={{ left: pct(t) }}>
            {clock(t)}
          </span>
        ))}
      </div>
      <p className="muted small" data-testid="recording-summary">
        {range
          ? range.segments.length === 0
            ? 'Nothing recorded in this period.'
            : `${Math.round(range.totals.recordedMs / 60_000)} min recorded · ${range.gaps.length} gap${range.gaps.length === 1 ? '' : 's'}`
          : 'Loading recordings…'}
        {head ? ` · ${formatTime(head)}` : ''}
        {range?.exportUrl ? (
          <>
            {' · '}
            <a href={range.exportUrl} download data-testid="recording-export">
              Download this period (MP4)
            </a>
          </>
        ) : null}
      </p>
      <RecordingPlayer playbackUrl={playbackUrl} seek={seek} onTime={setPlaying} />
    </section>
  );
}
