import Hls, { type Fragment } from 'hls.js';
import { useCallback, useEffect, useRef, useState } from 'react';

/** Where the player should be: a wall-clock instant, and a counter so the same instant can be asked twice. */
export interface SeekRequest {
  at: number;
  n: number;
}

interface Props {
  /** Signed HLS VOD playlist of the range on show (from the recordings API). */
  playbackUrl: string | null;
  seek: SeekRequest | null;
  /** Called as the video plays with the wall-clock time on screen. */
  onTime?: (at: number) => void;
}

/** The fragment holding wall-clock `at` (or the first after it, in a gap), with its real start. */
function fragmentAt(frags: readonly Fragment[], at: number): { frag: Fragment; pdt: number } | null {
  for (const frag of frags) {
    const pdt = frag.programDateTime;
    if (pdt === null) continue;
    if (at < pdt + frag.duration * 1000) return { frag, pdt };
  }
  return null;
}

/**
 * Plays a recorded range with hls.js (HLS VOD of fMP4 segments) and keeps the wall clock in
 * step: seeks to a real time through each entry's `#EXT-X-PROGRAM-DATE-TIME`, and reports the
 * real time on screen. Muted so that it may start playing on its own.
 */
export function RecordingPlayer({ playbackUrl, seek, onTime }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  const hls = useRef<Hls | null>(null);
  const frags = useRef<Fragment[]>([]);
  const pending = useRef<SeekRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [state, setState] = useState<'idle' | 'loading' | 'playing' | 'paused'>('idle');
  const onTimeRef = useRef(onTime);
  onTimeRef.current = onTime;

  // reads refs and sets state only: the same function for the component's life
  const applySeek = useCallback((req: SeekRequest) => {
    const v = video.current;
    const hit = fragmentAt(frags.current, req.at);
    if (!v || !hit) {
      // not loaded yet: done when the playlist arrives; loaded: nothing recorded from then on
      pending.current = frags.current.length === 0 ? req : null;
      if (frags.current.length > 0)
        setError('Nothing was recorded at that moment or after it in this period.');
      return;
    }
    pending.current = null;
    setError(null);
    v.currentTime = hit.frag.start + Math.max(0, req.at - hit.pdt) / 1000;
    void v.play().catch(() => undefined);
  }, []);

  useEffect(() => {
    const v = video.current;
    if (!v || !playbackUrl) return;
    setError(null);
    setState('loading');
    frags.current = [];
    const onLoaded = (details: { fragments: Fragment[] }) => {
      frags.current = details.fragments;
      if (pending.current) applySeek(pending.current);
    };
    if (Hls.isSupported()) {
      const h = new Hls({ enableWorker: true, maxBufferLength: 20 });
      hls.current = h;
      h.on(Hls.Events.LEVEL_LOADED, (_e, data) => onLoaded(data.details));
      h.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) setError(`Playback failed (${data.details})`);
      });
      h.loadSource(playbackUrl);
      h.attachMedia(v);
      return () => {
        h.destroy();
        hls.current = null;
      };
    }
    // Safari plays HLS itself; real-time seeking then uses the playlist start only
    v.src = playbackUrl;
    return () => {
      v.removeAttribute('src');
      v.load();
    };
  }, [playbackUrl, applySeek]);

  useEffect(() => {
    if (seek) applySeek(seek);
  }, [seek, applySeek]);

  useEffect(() => {
    const v = video.current;
    if (!v) return;
    const tick = () => {
      const t = v.currentTime;
      const frag = frags.current.find((f) => t >= f.start && t < f.start + f.duration);
      if (frag?.programDateTime != null) onTimeRef.current?.(frag.programDateTime + (t - frag.start) * 1000);
    };
    const playing = () => setState('playing');
    const paused = () => setState('paused');
    v.addEventListener('timeupdate', tick);
    v.addEventListener('playing', playing);
    v.addEventListener('pause', paused);
    return () => {
      v.removeEventListener('timeupdate', tick);
      v.removeEventListener('playing', playing);
      v.removeEventListener('pause', paused);
    };
  }, []);

  return (
    <div className="recording-player">
      <video
        ref={video}
        muted
        playsInline
        controls
        data-testid="recording-video"
        data-state={state}
        aria-label="Recording"
      />
      {!playbackUrl ? <p className="muted small">Click the timeline to play.</p> : null}
      {error ? <p className="field-error">{error}</p> : null}
    </div>
  );
}
