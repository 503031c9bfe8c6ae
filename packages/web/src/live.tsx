import { createContext, type ReactNode, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { type Alert, listAlerts, toAlert } from './api/client.ts';

export interface LiveMessage {
  type: 'alert' | 'alert-updated' | 'camera-status' | 'detection' | 'device-status';
  data: unknown;
}
type Listener = (m: LiveMessage) => void;

interface LiveValue {
  subscribe(listener: Listener): () => void;
  connected: boolean;
  /** Number of alerts with status new, kept current from the WebSocket. */
  newAlerts: number;
  /** Lets a page report an alert it changed (so the badge follows without waiting for the push). */
  noteAlert(alert: Alert): void;
}

const LiveContext = createContext<LiveValue | null>(null);

/** One WebSocket per session (topics alerts + status + detections), reconnecting with backoff. */
export function LiveProvider({ token, children }: { token: string; children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);
  const [newIds, setNewIds] = useState<ReadonlySet<string>>(new Set());

  const noteAlert = useMemo(
    () => (a: Alert) =>
      setNewIds((prev) => {
        const has = prev.has(a.id);
        if ((a.status === 'new') === has) return prev;
        const next = new Set(prev);
        if (has) next.delete(a.id);
        else next.add(a.id);
        return next;
      }),
    [],
  );

  useEffect(() => {
    const ctrl = new AbortController();
    listAlerts({ status: 'new', limit: '500' }, ctrl.signal)
      .then((r) => setNewIds((prev) => new Set([...prev, ...r.items.map((a) => a.id)])))
      .catch(() => {});
    return () => ctrl.abort();
  }, []);

  useEffect(() => {
    let ws: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    const connect = () => {
      const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      ws = new WebSocket(
        `${proto}//${window.location.host}/api/ws?token=${encodeURIComponent(token)}&topics=alerts,status,detections`,
      );
      ws.onopen = () => {
        attempt = 0;
        setConnected(true);
      };
      ws.onmessage = (ev) => {
        let msg: LiveMessage;
        try {
          msg = JSON.parse(String(ev.data)) as LiveMessage;
        } catch {
          return;
        }
        if (msg.type === 'alert' || msg.type === 'alert-updated') {
          const a = toAlert(msg.data);
          if (a) noteAlert(a);
        }
        for (const l of listeners.current) l(msg);
      };
      ws.onclose = () => {
        setConnected(false);
        if (stopped) return;
        attempt += 1;
        timer = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)));
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    };
  }, [token, noteAlert]);

  const value = useMemo<LiveValue>(
    () => ({
      subscribe(l) {
        listeners.current.add(l);
        return () => listeners.current.delete(l);
      },
      connected,
      newAlerts: newIds.size,
      noteAlert,
    }),
    [connected, newIds, noteAlert],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveValue {
  const v = useContext(LiveContext);
  if (!v) throw new Error('useLive outside LiveProvider');
  return v;
}

/** Calls handler for every live message (the latest handler, without resubscribing). */
export function useLiveMessages(handler: Listener): void {
  const { subscribe } = useLive();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe((m) => ref.current(m)), [subscribe]);
}

/** One detected object of a detection frame (box normalised 0..1 as [x, y, w, h]). */
export interface LiveObject {
  trackId: string | null;
  class: string;
  score: number;
  box: [number, number, number, number];
}

/** A detection frame pushed by the server (DetectionFrameV1). */
export interface DetectionFrame {
  cameraId: string;
  capturedAt: number;
  frame: { width: number; height: number };
  inferred?: boolean;
  objects: LiveObject[];
}

/** Calls handler for every detection frame of one camera. */
export function useDetections(cameraId: string, handler: (frame: DetectionFrame) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useLiveMessages((m) => {
    if (m.type !== 'detection') return;
    const f = m.data as DetectionFrame | null;
    if (f && f.cameraId === cameraId && Array.isArray(f.objects)) ref.current(f);
  });
}
