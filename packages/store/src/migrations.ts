/**
 * Versioned schema migrations, applied in order on every open. Each migration runs in its own
 * transaction together with the row that records it in `schema_migrations`, under a
 * transaction-scoped advisory lock, so that several server instances opening the same PostgreSQL
 * database at once apply each migration exactly once. A database whose schema is newer than this
 * code is refused.
 *
 * Migrations are plain SQL that runs unchanged on PGlite (PostgreSQL 17 in WASM) and on
 * PostgreSQL 15+. Never edit a released migration: add a new one.
 */
import { IcebergError } from '@iceberg/common';
import { type Kysely, sql } from 'kysely';
import type { Schema } from './schema.ts';

export interface Migration {
  /** 1, 2, 3…: the order in which migrations run. */
  version: number;
  name: string;
  /** SQL statements, run one by one (PGlite's extended protocol takes one statement per query). */
  statements: readonly string[];
}

/** Key of the advisory lock that serialises migrations (any constant; "iceberg" in ASCII). */
const MIGRATION_LOCK_KEY = 0x69636562;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    statements: [
      `create table organisations (
        id text primary key,
        name text not null,
        created_at bigint not null
      )`,

      `create table users (
        org_id text not null references organisations (id) on delete cascade,
        id text not null,
        email text not null,
        name text not null,
        role text not null check (role in ('owner', 'admin', 'viewer')),
        password_hash text not null,
        created_at bigint not null,
        primary key (org_id, id)
      )`,
      // Log-in is by e-mail across all organisations: an address belongs to one account.
      `create unique index users_email_key on users (lower(email))`,
      `create index users_org_list_idx on users (org_id, created_at, id)`,

      `create table sessions (
        org_id text not null,
        id text not null,
        user_id text not null,
        kind text not null default 'session' check (kind in ('session', 'api_token')),
        name text,
        token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
        created_at bigint not null,
        expires_at bigint,
        last_used_at bigint,
        primary key (org_id, id),
        foreign key (org_id, user_id) references users (org_id, id) on delete cascade
      )`,
      `create index sessions_user_idx on sessions (org_id, user_id)`,
      `create index sessions_expires_idx on sessions (expires_at) where expires_at is not null`,

      `create table sites (
        org_id text not null references organisations (id) on delete cascade,
        id text not null,
        name text not null,
        time_zone text not null default 'UTC',
        created_at bigint not null,
        primary key (org_id, id)
      )`,
      `create index sites_org_list_idx on sites (org_id, created_at, id)`,

      `create table devices (
        org_id text not null references organisations (id) on delete cascade,
        id text not null,
        site_id text,
        name text not null,
        last_seen_at bigint,
        status jsonb,
        created_at bigint not null,
        primary key (org_id, id),
        foreign key (org_id, site_id) references sites (org_id, id) on delete set null (site_id)
      )`,

      `create table cameras (
        org_id text not null references organisations (id) on delete cascade,
        id text not null,
        device_id text not null,
        name text not null,
        input text not null,
        settings jsonb not null default '{}'::jsonb,
        state text not null default 'connecting' check (state in ('connecting', 'online', 'offline')),
        problem jsonb,
        state_at bigint,
        latest_snapshot text,
        latest_snapshot_at bigint,
        created_at bigint not null,
        updated_at bigint not null,
        primary key (org_id, id)
      )`,
      `create index cameras_device_idx on cameras (org_id, device_id)`,

      `create table rules (
        org_id text not null references organisations (id) on delete cascade,
        id text not null,
        name text not null,
        enabled boolean not null default true,
        camera_ids jsonb check (camera_ids is null or jsonb_typeof(camera_ids) = 'array'),
        spec jsonb not null,
        created_at bigint not null,
        updated_at bigint not null,
        primary key (org_id, id)
      )`,
      `create index rules_org_list_idx on rules (org_id, created_at, id)`,

      // Telemetry tables have no foreign keys: they are written from the bus at high rates and
      // may name a camera the server has not registered (yet).
      `create table tracks (
        org_id text not null,
        camera_id text not null,
        track_id text not null,
        device_id text not null,
        class text not null,
        score double precision not null,
        first_seen_at bigint not null,
        last_seen_at bigint not null,
        ended_at bigint,
        stationary boolean not null,
        box jsonb not null,
        snapshot jsonb,
        hits integer,
        event_at bigint not null,
        primary key (org_id, camera_id, track_id)
      )`,
      `create index tracks_org_time_idx on tracks (org_id, first_seen_at desc, camera_id desc, track_id desc)`,
      `create index tracks_camera_time_idx on tracks (org_id, camera_id, first_seen_at desc, track_id desc)`,

      `create table detections (
        org_id text not null,
        camera_id text not null,
        captured_at bigint not null,
        seq integer not null,
        device_id text not null,
        objects jsonb not null,
        primary key (org_id, camera_id, captured_at, seq)
      )`,
      // Append-mostly in time order: a BRIN index makes retention purges cheap at almost no cost.
      `create index detections_captured_brin on detections using brin (captured_at)`,

      `create table alerts (
        org_id text not null,
        id text not null,
        rule_id text not null,
        rule_name text not null,
        device_id text not null,
        camera_id text not null,
        reason text not null,
        class text not null,
        track_ids jsonb not null,
        score double precision not null,
        box jsonb,
        at bigint not null,
        created_at bigint not null,
        status text not null check (status in ('new', 'acknowledged', 'resolved')),
        status_at bigint not null,
        status_by text,
        snapshot text,
        message text not null,
        dedupe_key text not null,
        primary key (org_id, id),
        unique (org_id, dedupe_key)
      )`,
      `create index alerts_org_time_idx on alerts (org_id, at desc, id desc)`,
      `create index alerts_camera_time_idx on alerts (org_id, camera_id, at desc, id desc)`,
      `create index alerts_rule_time_idx on alerts (org_id, rule_id, at desc, id desc)`,
      `create index alerts_status_time_idx on alerts (org_id, status, at desc, id desc)`,

      `create table action_outcomes (
        org_id text not null,
        id text not null,
        alert_id text not null,
        action_type text not null,
        action_target text not null,
        attempt integer not null,
        ok boolean not null,
        status_code integer,
        error text,
        outcome text,
        duration_ms double precision,
        next_attempt_at bigint,
        at bigint not null,
        primary key (org_id, id)
      )`,
      `create index action_outcomes_alert_idx on action_outcomes (org_id, alert_id, at)`,

      `create table dead_letters (
        id text primary key,
        org_id text,
        topic text not null,
        key text not null,
        value text not null,
        encoding text not null check (encoding in ('utf8', 'base64')),
        headers jsonb not null,
        reason text not null check (reason in ('invalid', 'handler_failed')),
        error text not null,
        consumer_group text not null,
        at bigint not null,
        replayed_at bigint
      )`,
      `create index dead_letters_org_time_idx on dead_letters (org_id, at desc, id desc)`,
      `create index dead_letters_time_idx on dead_letters (at desc, id desc)`,
    ],
  },
  {
    version: 2,
    name: 'recordings',
    statements: [
      // The DVR's segment index as devices report it (recording.v1). No foreign keys (telemetry).
      // A deleted segment keeps its row (deleted_at) so that a replayed SegmentRecorded cannot
      // bring it back.
      `create table recordings (
        org_id text not null,
        camera_id text not null,
        segment_id text not null,
        device_id text not null,
        started_at bigint not null,
        ended_at bigint not null check (ended_at > started_at),
        duration_ms integer not null check (duration_ms > 0),
        bytes bigint not null check (bytes >= 0),
        path text not null,
        reason text not null check (reason in ('continuous', 'event')),
        codec text,
        width integer,
        height integer,
        reported_at bigint not null,
        deleted_at bigint,
        deleted_reason text,
        primary key (org_id, camera_id, segment_id)
      )`,
      `create index recordings_camera_time_idx on recordings (org_id, camera_id, started_at)`,
      // Secrets the server instances share (the key of signed media URLs): generated once.
      `create table server_secrets (
        name text primary key,
        value text not null,
        created_at bigint not null
      )`,
    ],
  },
  {
    version: 3,
    name: 'rule-states',
    statements: [
      // What the rules engine remembers per (rule, camera): which tracks already fired, where
      // they stand. Saved when a rule fires and every few seconds, so a restarted server (or the
      // instance that takes a camera over) carries on instead of alerting again for every object
      // in view. Deleting the rule deletes its states.
      `create table rule_states (
        org_id text not null,
        rule_id text not null,
        camera_id text not null,
        state jsonb not null,
        updated_at bigint not null,
        primary key (org_id, camera_id, rule_id),
        foreign key (org_id, rule_id) references rules (org_id, id) on delete cascade
      )`,
    ],
  },
];

export interface MigrationResult {
  /** Versions applied by this call, in order (empty when the schema was up to date). */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/** The newest schema version this code knows. */
export const latestSchemaVersion = Math.max(...migrations.map((m) => m.version));

/** Applies every pending migration, each in its own transaction. Safe to call concurrently. */
export async function migrate(
  db: Kysely<Schema>,
  list: readonly Migration[] = migrations,
  now: () => number = Date.now,
): Promise<MigrationResult> {
  const ordered = [...list].sort((a, b) => a.version - b.version);
  ordered.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3…: found ${m.version}`);
  });
  const latest = ordered.length;

  await sql`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at bigint not null
  )`
    .execute(db)
    .catch(async (err: unknown) => {
      // Two instances creating the table at the same moment: one of them loses the race.
      const exists = await sql`select to_regclass('schema_migrations') as t`.execute(db);
      if ((exists.rows[0] as { t: unknown } | undefined)?.t == null) throw err;
    });

  const applied: number[] = [];
  for (const migration of ordered) {
    const done = await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(trx);
      const newest = await trx
        .selectFrom('schema_migrations')
        .select((eb) => eb.fn.max('version').as('version'))
        .executeTakeFirst();
      const current = Number(newest?.version ?? 0);
      if (current > latest) {
        throw new IcebergError(
          'ICEBERG_ERR_INTERNAL',
          `the database schema is at version ${current}, newer than this version of Iceberg knows (${latest}): upgrade Iceberg`,
          { details: { schemaVersion: current, knownVersion: latest } },
        );
      }
      if (current >= migration.version) return false;
      for (const statement of migration.statements) await sql.raw(statement).execute(trx);
      await trx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: now() })
        .execute();
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return { applied, version: latest };
}
