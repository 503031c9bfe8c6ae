/**
 * The database schema as Kysely sees it. Table and column names are snake_case, exactly as in
 * the migrations (`migrations.ts`); repositories map rows to camelCase records.
 *
 * Conventions:
 * - every timestamp is a `bigint` of milliseconds since the Unix epoch (UTC), like `EpochMs` on
 *   the wire; both drivers are configured to return it as a JS number;
 * - JSON columns are `jsonb`; they are written as JSON text (`toJson()`), read back as values;
 * - ids are text; tenant tables have the composite primary key (org_id, id) so that two
 *   organisations may use the same camera or device id and no query can cross tenants by id.
 */
import type { ColumnType } from 'kysely';

/** A jsonb column: selected as a value, inserted and updated as JSON text. */
export type Json<T> = ColumnType<T, string, string>;
/** A nullable jsonb column. */
export type NullableJson<T> = ColumnType<T | null, string | null, string | null>;

export type UserRole = 'owner' | 'admin' | 'viewer';
export type SessionKind = 'session' | 'api_token';

export interface OrganisationsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface UsersTable {
  org_id: string;
  id: string;
  email: string;
  name: string;
  role: UserRole;
  password_hash: string;
  created_at: number;
}

export interface SessionsTable {
  org_id: string;
  id: string;
  user_id: string;
  kind: SessionKind;
  name: string | null;
  /** sha256 of the bearer token, lowercase hex; the token itself is never stored. */
  token_hash: string;
  created_at: number;
  /** null: never expires (API tokens). */
  expires_at: number | null;
  last_used_at: number | null;
}

export interface SitesTable {
  org_id: string;
  id: string;
  name: string;
  time_zone: string;
  created_at: number;
}

export interface DevicesTable {
  org_id: string;
  id: string;
  site_id: string | null;
  name: string;
  last_seen_at: number | null;
  status: NullableJson<unknown>;
  created_at: number;
}

export interface CamerasTable {
  org_id: string;
  id: string;
  device_id: string;
  name: string;
  /** What ffmpeg reads; may hold credentials (rtsp://user:pass@…): a secret. */
  input: string;
  settings: Json<Record<string, unknown>>;
  state: 'connecting' | 'online' | 'offline';
  problem: NullableJson<unknown>;
  state_at: number | null;
  latest_snapshot: string | null;
  latest_snapshot_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RulesTable {
  org_id: string;
  id: string;
  name: string;
  enabled: boolean;
  /** JSON array of camera ids the rule applies to; null: every camera of the organisation. */
  camera_ids: NullableJson<string[]>;
  spec: Json<unknown>;
  created_at: number;
  updated_at: number;
}

export interface TracksTable {
  org_id: string;
  camera_id: string;
  track_id: string;
  device_id: string;
  class: string;
  score: number;
  first_seen_at: number;
  last_seen_at: number;
  ended_at: number | null;
  stationary: boolean;
  box: Json<[number, number, number, number]>;
  snapshot: NullableJson<unknown>;
  hits: number | null;
  /** `at` of the event whose state the row holds. */
  event_at: number;
}

export interface DetectionsTable {
  org_id: string;
  camera_id: string;
  captured_at: number;
  seq: number;
  device_id: string;
  objects: Json<unknown[]>;
}

export interface AlertsTable {
  org_id: string;
  id: string;
  rule_id: string;
  rule_name: string;
  device_id: string;
  camera_id: string;
  reason: string;
  class: string;
  track_ids: Json<string[]>;
  score: number;
  box: NullableJson<[number, number, number, number]>;
  at: number;
  created_at: number;
  status: 'new' | 'acknowledged' | 'resolved';
  status_at: number;
  status_by: string | null;
  snapshot: string | null;
  message: string;
  dedupe_key: string;
}

export interface ActionOutcomesTable {
  org_id: string;
  id: string;
  alert_id: string;
  action_type: string;
  action_target: string;
  attempt: number;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  /** The dispatcher's verdict: 'delivered' | 'retrying' | 'failed' | 'abandoned'. */
  outcome: string | null;
  duration_ms: number | null;
  next_attempt_at: number | null;
  at: number;
}

export interface DeadLettersTable {
  id: string;
  org_id: string | null;
  topic: string;
  key: string;
  value: string;
  encoding: 'utf8' | 'base64';
  headers: Json<Record<string, string>>;
  reason: 'invalid' | 'handler_failed';
  error: string;
  consumer_group: string;
  at: number;
  replayed_at: number | null;
}

export interface RecordingsTable {
  org_id: string;
  camera_id: string;
  segment_id: string;
  device_id: string;
  /** Wall-clock time of the segment's first frame, and just after its last. */
  started_at: number;
  ended_at: number;
  duration_ms: number;
  bytes: number;
  /** Relative to the device's data directory: `recordings/<org>/<camera>/…/<startedAt>.mp4`. */
  path: string;
  reason: 'continuous' | 'event';
  codec: string | null;
  width: number | null;
  height: number | null;
  /** `at` of the newest SegmentRecorded applied. */
  reported_at: number;
  /** When the device removed the file (SegmentsDeleted); null while it is there. */
  deleted_at: number | null;
  deleted_reason: string | null;
}

export interface ServerSecretsTable {
  name: string;
  value: string;
  created_at: number;
}

export interface RuleStatesTable {
  org_id: string;
  rule_id: string;
  camera_id: string;
  state: Json<unknown>;
  updated_at: number;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface Schema {
  organisations: OrganisationsTable;
  users: UsersTable;
  sessions: SessionsTable;
  sites: SitesTable;
  devices: DevicesTable;
  cameras: CamerasTable;
  rules: RulesTable;
  tracks: TracksTable;
  detections: DetectionsTable;
  alerts: AlertsTable;
  action_outcomes: ActionOutcomesTable;
  dead_letters: DeadLettersTable;
  recordings: RecordingsTable;
  server_secrets: ServerSecretsTable;
  rule_states: RuleStatesTable;
  schema_migrations: SchemaMigrationsTable;
}
