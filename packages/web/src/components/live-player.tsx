import Hls from 'hls.js';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, getToken } from '../api/client.ts';
import type { paths } from '../api/schema.generated.ts';
import { errorMessage } from './ui.tsx';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type StartedSession = Json<paths['/api/cameras/{id}/live']['post']['responses']['201']>;
type SessionView = Json<paths['/api/live/{session}']['get']['responses']['200']>;
type Playback = NonNullable<SessionView['playback']>;

/** `ll`: fMP4 over WebSocket into Media Source Extensions; `hls`: hls.js. */
export type LiveMode = 'll' | 'hls';

const HEARTBEAT_MS = 10_000;
/** While starting, the session is polled this often so a failure (device offline…) shows at once. */
const POLL_STARTING_MS = 1500;
/**
 * Low latency: the playhead is kept about TARGET_LAG_S behind the newest frame (enough to ride
 * out network jitter without stalling): above CATCH_UP_LAG_S it plays a little faster, above
 * JUMP_LAG_S it jumps.
 */
const TARGET_LAG_S = 0.15;
const CATCH_UP_LAG_S = 0.3;
const JUMP_LAG_S = 1;
/** Buffered video older than this behind the playhead is removed. */
const KEEP_BEHIND_S = 10;

type Phase =
  | { kind: 'idle' }
  | { kind: 'starting'; note?: string }
  | { kind: 'playing' }
  | { kind: 'error'; message: string };

interface Running {
  sessionId: string;
  viewerId: string;
  playback: Playback;
}

const leaveUrl = (r: Running) =>
  `/api/live/${encodeURIComponent(r.sessionId)}?viewerId=${encodeURIComponent(r.viewerId)}`;

/** Leaves the session; `keepalive` so it still goes out when the page is being closed. */
function leave(r: Running): void {
  const token = getToken();
  void fetch(leaveUrl(r), {
    method: 'DELETE',
    keepalive: true,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  }).catch(() => undefined);
}

/**
 * The live player of a camera: "Watch live" starts or joins the camera's live session, then
 * plays it in low-latency mode (fMP4 over a WebSocket into Media Source Extensions) or with
 * hls.js; low latency falls back to HLS when MSE or the WebSocket fails. Shows "Starting…" until
 * the video's time advances, errors as they come, sends a heartbeat every 10 s, and leaves the
 * session when it unmounts, when the page is hidden or closed, or on "Stop".
 */
export function LivePlayer({ cameraId, annotated = true }: { cameraId: string; annotated?: boolean }) {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const phaseRef = useRef<Phase>(phase);
  phaseRef.current = phase;
  const [mode, setMode] = useState<LiveMode>(() => (typeof MediaSource !== 'undefined' ? 'll' : 'hls'));
  const [playingMode, setPlayingMode] = useState<LiveMode | null>(null);
  const [running, setRunning] = useState<Running | null>(null);
  const runningRef = useRef<Running | null>(null);
  runningRef.current = running;

  const stop = useCallback(() => {
    const r = runningRef.current;
    if (r) leave(r);
    runningRef.current = null;
    setRunning(null);
    setPlayingMode(null);
    setPhase({ kind: 'idle' });
  }, []);

  const start = useCallback(async () => {
    setPhase({ kind: 'starting' });
    try {
      const s = await api<StartedSession>(`/api/cameras/${encodeURIComponent(cameraId)}/live`, {
        method: 'POST',
        body: { annotated, lowLatency: mode === 'll' },
      });
      if (s.state === 'failed' || !s.playback) {
        leave({
          sessionId: s.sessionId,
          viewerId: s.viewerId,
          playback: s.playback ?? { hls: '', ws: '', expiresAt: 0 },
        });
        setPhase({
          kind: 'error',
          message: s.message ?? `The live view could not start (${s.reason ?? 'failed'}).`,
        });
        return;
      }
      setRunning({ sessionId: s.sessionId, viewerId: s.viewerId, playback: s.playback });
    } catch (err) {
      setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, [cameraId, annotated, mode]);

  // Heartbeats (fresh playback URLs come back with them); while starting, poll for failures.
  useEffect(() => {
    if (!running) return;
    let cancelled = false;
    const beat = async () => {
      try {
        const view = await api<SessionView>(`/api/live/${encodeURIComponent(running.sessionId)}/heartbeat`, {
          method: 'POST',
          body: { viewerId: running.viewerId },
        });
        if (cancelled) return;
        if (view.state === 'failed' || view.state === 'stopped') {
          setPhase({
            kind: 'error',
            message: view.message ?? `The live view ended (${view.reason ?? view.state}).`,
          });
          runningRef.current = null;
          setRunning(null);
          return;
        }
        if (view.playback && runningRef.current) runningRef.current.playback = view.playback;
      } catch (err) {
        if (!cancelled) setPhase({ kind: 'error', message: errorMessage(err) });
      }
    };
    const heartbeat = setInterval(beat, HEARTBEAT_MS);
    const poll = setInterval(() => {
      if (phaseRef.current.kind === 'starting') void beat();
    }, POLL_STARTING_MS);
    return () => {
      cancelled = true;
      clearInterval(heartbeat);
      clearInterval(poll);
    };
  }, [running]);

  // Leave on unmount and when the page goes away.
  useEffect(() => {
    const onHide = () => stop();
    window.addEventListener('pagehide', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      const r = runningRef.current;
      if (r) leave(r);
      runningRef.current = null;
    };
  }, [stop]);

  // Playback: attach the chosen transport to the video element.
  useEffect(() => {
    const video = videoRef.current;
    if (!running || !video) return;
    let disposed = false;
    let teardown: () => void = () => undefined;
    const onProgress = () => {
      if (video.currentTime > 0 && !video.paused)
        setPhase((p) => (p.kind === 'playing' ? p : { kind: 'playing' }));
    };
    video.addEventListener('timeupdate', onProgress);
    const fail = (message: string) => {
      if (!disposed) setPhase({ kind: 'error', message });
    };
    const playHls = (note?: string) => {
      teardown();
      setPlayingMode('hls');
      if (note) setPhase({ kind: 'starting', note });
      teardown = attachHls(video, () => runningRef.current?.playback.hls ?? running.playback.hls, fail);
    };
    if (mode === 'll' && typeof MediaSource !== 'undefined') {
      setPlayingMode('ll');
      teardown = attachLowLatency(video, running.playback.ws, (reason) => {
        if (!disposed) playHls(`Low latency unavailable (${reason}): playing HLS…`);
      });
    } else {
      playHls();
    }
    return () => {
      disposed = true;
      video.removeEventListener('timeupdate', onProgress);
      teardown();
    };
  }, [running, mode]);

  const busy = phase.kind === 'starting' || phase.kind === 'playing';
  return (
    <div className="live-player" data-testid="live-player" data-phase={phase.kind}>
      <div className="toolbar">
        {running ? (
          <button type="button" onClick={stop} data-testid="live-stop">
            Stop
          </button>
        ) : (
          <button type="button" onClick={() => void start()} disabled={busy} data-testid="watch-live">
            Watch live
          </button>
        )}
        <fieldset className="live-mode" aria-label="Live mode" data-testid="live-mode">
          <label>
            <input
              type="radio"
              name={`live-mode-${cameraId}`}
              checked={mode === 'll'}
              onChange={() => setMode('ll')}
              disabled={typeof MediaSource === 'undefined'}
            />{' '}
            Low latency
          </label>
          <label>
            <input
              type="radio"
              name={`live-mode-${cameraId}`}
              checked={mode === 'hls'}
              onChange={() => setMode('hls')}
            />{' '}
            HLS
          </label>
        </fieldset>
      </div>
      {running ? (
        <div className="live-video-frame">
          <video
            ref={videoRef}
            className="live-video"
            data-testid="live-video"
            data-mode={playingMode ?? ''}
            muted
            autoPlay
            playsInline
          />
          {phase.kind === 'starting' ? (
            <p className="live-overlay" role="status" data-testid="live-status">
              {phase.note ?? 'Starting…'}
            </p>
          ) : null}
        </div>
      ) : null}
      {phase.kind === 'error' ? (
        <p className="error" role="alert" data-testid="live-error">
          {phase.message}
        </p>
      ) : null}
    </div>
  );
}

/** hls.js tuned for latency: start one segment from the live edge and catch up when behind. */
function attachHls(video: HTMLVideoElement, url: () => string, fail: (message: string) => void): () => void {
  if (!Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url();
      void video.play().catch(() => undefined);
      return () => {
        video.removeAttribute('src');
        video.load();
      };
    }
    fail('This browser cannot play live video (no Media Source Extensions and no native HLS).');
    return () => undefined;
  }
  const hls = new Hls({
    // Seconds, not segment counts: with the 1 s fragments the re-streamer writes, playing 0.5 s
    // behind the newest segment's end is enough and saves a second over one whole target duration.
    liveSyncDuration: 0.5,
    liveMaxLatencyDuration: 2.5,
    maxLiveSyncPlaybackRate: 1.5,
    backBufferLength: KEEP_BEHIND_S,
    manifestLoadPolicy: {
      default: {
        maxTimeToFirstByteMs: 10_000,
        maxLoadTimeMs: 20_000,
        timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 6, retryDelayMs: 500, maxRetryDelayMs: 4000 },
      },
    },
  });
  let reloads = 0;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && reloads < 3) {
      // An expired link (403) or a stream that restarted: load the latest URL from the heartbeats.
      reloads += 1;
      hls.loadSource(url());
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && reloads < 3) {
      reloads += 1;
      hls.recoverMediaError();
      return;
    }
    fail(`Live video failed: ${data.details}`);
  });
  hls.on(Hls.Events.FRAG_BUFFERED, () => {
    reloads = 0;
  });
  hls.loadSource(url());
  hls.attachMedia(video);
  void video.play().catch(() => undefined);
  return () => hls.destroy();
}

/**
 * Low latency: the server sends `{"type":"init","codec"}`, the fMP4 init segment, then one
 * fragment per frame. Fragments are appended in order; the playhead is kept about TARGET_LAG_S behind
 * the newest frame and old video is removed. `fallback` is called when this cannot work.
 */
function attachLowLatency(
  video: HTMLVideoElement,
  path: string,
  fallback: (reason: string) => void,
): () => void {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}${path}`);
  ws.binaryType = 'arraybuffer';
  let source: MediaSource | null = null;
  let buffer: SourceBuffer | null = null;
  let objectUrl: string | null = null;
  /** Binary frames to append, and `'restart'` where a new init segment begins a new timeline. */
  const queue: (ArrayBuffer | 'restart')[] = [];
  let gotFrame = false;
  let done = false;
  let lastTrim = 0;

  const finish = (reason: string | null) => {
    if (done) return;
    done = true;
    ws.onclose = null;
    ws.close();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    video.removeAttribute('src');
    video.load();
    if (reason) fallback(reason);
  };

  const pump = () => {
    if (!buffer || buffer.updating || done) return;
    const end = buffer.buffered.length > 0 ? buffer.buffered.end(buffer.buffered.length - 1) : 0;
    if (end > 0) {
      if (video.paused) void video.play().catch(() => undefined);
      // Stay near the live edge: play faster when behind, jump when far behind.
      const lag = end - video.currentTime;
      if (lag > JUMP_LAG_S) video.currentTime = Math.max(0, end - TARGET_LAG_S);
      else if (lag > CATCH_UP_LAG_S) video.playbackRate = 1.1;
      else if (lag < TARGET_LAG_S) video.playbackRate = 1;
      const start = buffer.buffered.start(0);
      if (video.currentTime - start > KEEP_BEHIND_S * 2 && Date.now() - lastTrim > 5000) {
        lastTrim = Date.now();
        buffer.remove(start, video.currentTime - KEEP_BEHIND_S);
        return;
      }
    }
    const next = queue.shift();
    if (!next) return;
    if (next === 'restart') {
      // The publisher restarted: its timestamps begin again; continue after what is buffered.
      buffer.timestampOffset = end;
      pump();
      return;
    }
    try {
      buffer.appendBuffer(next);
    } catch (err) {
      if ((err as DOMException).name === 'QuotaExceededError' && buffer.buffered.length > 0) {
        queue.length = 0; // drop what is queued and resume from fresh data
        buffer.remove(
          buffer.buffered.start(0),
          Math.max(buffer.buffered.start(0) + 0.1, video.currentTime - 1),
        );
      } else finish(`the browser refused the video: ${(err as Error).message}`);
    }
  };

  ws.onmessage = (event) => {
    if (typeof event.data === 'string') {
      let codec = '';
      try {
        codec = (JSON.parse(event.data) as { codec?: string }).codec ?? '';
      } catch {
        return;
      }
      const type = `video/mp4; codecs="${codec}"`;
      if (!MediaSource.isTypeSupported(type)) return finish(`codec ${codec} not supported`);
      if (source) {
        // A new init segment follows (the publisher restarted).
        queue.push('restart');
        return;
      }
      source = new MediaSource();
      objectUrl = URL.createObjectURL(source);
      video.src = objectUrl;
      source.addEventListener(
        'sourceopen',
        () => {
          if (!source || done) return;
          try {
            buffer = source.addSourceBuffer(type);
            buffer.mode = 'segments';
            buffer.addEventListener('updateend', pump);
            buffer.addEventListener('error', () => finish('the video could not be decoded'));
            pump();
          } catch (err) {
            finish(`Media Source Extensions failed: ${(err as Error).message}`);
          }
        },
        { once: true },
      );
      return;
    }
    queue.push(event.data as ArrayBuffer);
    if (queue.length > 600) queue.splice(0, queue.length - 300); // never grow without bound
    gotFrame = true;
    pump();
  };
  ws.onerror = () => undefined;
  ws.onclose = (event) => {
    if (done) return;
    finish(gotFrame ? `the connection closed (${event.code})` : 'no low-latency stream from the server');
  };
  const onVideoError = () => finish('the video element failed');
  video.addEventListener('error', onVideoError);
  return () => {
    video.removeEventListener('error', onVideoError);
    finish(null);
  };
}
