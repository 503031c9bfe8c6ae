import type { paths } from './schema.generated.ts';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type LoginResponse = Json<paths['/api/auth/login']['post']['responses']['200']>;
export type MeResponse = Json<paths['/api/auth/me']['get']['responses']['200']>;
export type CameraList = Json<paths['/api/cameras']['get']['responses']['200']>;
export type Camera = CameraList['items'][number];
export type EventList = Json<paths['/api/events']['get']['responses']['200']>;
export type TrackEvent = EventList['items'][number];
export type AlertList = Json<paths['/api/alerts']['get']['responses']['200']>;
export type Alert = AlertList['items'][number];
export type AlertStatus = Alert['status'];
export type CameraState = Camera['state'];
export type CameraProblem = NonNullable<Camera['problem']>;
export type EventQuery = NonNullable<paths['/api/events']['get']['parameters']['query']>;
export type ObjectClass = NonNullable<EventQuery['class']>;

const TOKEN_KEY = 'iceberg.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An error answered by the API (`{ error: { code, message } }`) or by the network. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** `error.details` of the answer, e.g. `{ issues: [{ path, message }] }` for an invalid rule */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called when the server says the token no longer works (401). */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: {
        Accept: 'application/json',
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...authHeaders(),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check your connection.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (res.status === 401 && !path.startsWith('/api/auth/login')) onUnauthorized?.();
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? `Request failed (${res.status})`,
      e?.details,
    );
  }
  return data as T;
}

export const login = (email: string, password: string) =>
  api<LoginResponse>('/api/auth/login', { method: 'POST', body: { email, password } });
export const me = () => api<MeResponse>('/api/auth/me');
export const logout = () => api<unknown>('/api/auth/logout', { method: 'POST' });
export const listCameras = (signal?: AbortSignal) => api<CameraList>('/api/cameras?limit=500', { signal });
export const listEvents = (q: EventQuery, signal?: AbortSignal) =>
  api<EventList>(`/api/events${query(q)}`, { signal });
export const listAlerts = (q: { status?: AlertStatus; limit?: string }, signal?: AbortSignal) =>
  api<AlertList>(`/api/alerts${query(q)}`, { signal });
export const setAlertStatus = (id: string, status: 'acknowledged' | 'resolved') =>
  api<Alert>(`/api/alerts/${encodeURIComponent(id)}`, { method: 'PATCH', body: { status } });

/** Fetches an image that needs the bearer token and returns an object URL (the caller revokes it). */
export async function fetchImage(url: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, { headers: authHeaders(), signal });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, 'Image unavailable');
  return URL.createObjectURL(await res.blob());
}

/** Normalises an alert pushed over the WebSocket ('alert' carries `snapshot`, not `snapshotUrl`). */
export function toAlert(data: unknown): Alert | null {
  if (!data || typeof data !== 'object') return null;
  const a = data as Partial<Alert> & { snapshot?: unknown };
  if (typeof a.id !== 'string') return null;
  const snapshotUrl =
    a.snapshotUrl !== undefined
      ? a.snapshotUrl
      : a.snapshot
        ? `/api/alerts/${encodeURIComponent(a.id)}/snapshot`
        : null;
  return { ...(a as Alert), status: a.status ?? 'new', snapshotUrl };
}

export const OBJECT_CLASSES: readonly ObjectClass[] = [
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'bus',
  'truck',
  'bird',
  'cat',
  'dog',
  'horse',
  'backpack',
  'umbrella',
  'handbag',
  'suitcase',
];

export type CameraDetail = Json<paths['/api/cameras/{id}']['get']['responses']['200']>;
export const getCamera = (id: string, signal?: AbortSignal) =>
  api<CameraDetail>(`/api/cameras/${encodeURIComponent(id)}`, { signal });

export type RuleList = Json<paths['/api/rules']['get']['responses']['200']>;
export type Rule = RuleList['items'][number];
export type RuleSpec = NonNullable<paths['/api/rules']['post']['requestBody']>['content']['application/json'];
export type RuleTrigger = Rule['spec']['trigger'];
export type RuleAction = Rule['spec']['actions'][number];
export type Weekday = NonNullable<Rule['spec']['schedule']>['days'][number];

export type DeviceList = Json<paths['/api/devices']['get']['responses']['200']>;
export type Device = DeviceList['items'][number];
export type DeviceStatus = NonNullable<Device['status']>;
export const listDevices = (signal?: AbortSignal) => api<DeviceList>('/api/devices?limit=500', { signal });

export const listRules = (signal?: AbortSignal) => api<RuleList>('/api/rules?limit=500', { signal });
export const getRule = (id: string, signal?: AbortSignal) =>
  api<Rule>(`/api/rules/${encodeURIComponent(id)}`, { signal });
export const createRule = (spec: RuleSpec) => api<Rule>('/api/rules', { method: 'POST', body: spec });
export const updateRule = (id: string, spec: RuleSpec) =>
  api<Rule>(`/api/rules/${encodeURIComponent(id)}`, { method: 'PUT', body: spec });
export const setRuleEnabled = (id: string, enabled: boolean) =>
  api<Rule>(`/api/rules/${encodeURIComponent(id)}`, { method: 'PATCH', body: { enabled } });
export const deleteRule = (id: string) =>
  api<unknown>(`/api/rules/${encodeURIComponent(id)}`, { method: 'DELETE' });

/** The `{ path, message }` issues of an invalid-input error, if the server gave any. */
export function validationIssues(err: unknown): { path: string; message: string }[] {
  if (!(err instanceof ApiError)) return [];
  const issues = (err.details as { issues?: unknown } | null | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.filter(
    (i): i is { path: string; message: string } =>
      !!i && typeof i.path === 'string' && typeof i.message === 'string',
  );
}

export type RecordingRange = Json<paths['/api/cameras/{id}/recordings']['get']['responses']['200']>;
export type RecordingSegment = RecordingRange['segments'][number];
/** The recordings of a camera overlapping [from, to), with signed playback and export links. */
export const listRecordings = (cameraId: string, from: number, to: number, signal?: AbortSignal) =>
  api<RecordingRange>(`/api/cameras/${encodeURIComponent(cameraId)}/recordings${query({ from, to })}`, {
    signal,
  });
export const listCameraAlerts = (cameraId: string, from: number, to: number, signal?: AbortSignal) =>
  api<AlertList>(`/api/alerts${query({ cameraId, from, to, limit: 500 })}`, { signal });
