/**
 * Ingest benchmark (not a test): how many detection rows and track events per second the store
 * takes, on PGlite (in memory and in a directory) and on PostgreSQL (a throwaway local server
 * with its durable defaults, started like the tests start theirs).
 *
 *   node --import tsx packages/store/src/ingest.bench.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TrackEventV1 } from '@iceberg/contracts';
import { startPostgres } from '../test/postgres-server.ts';
import { createStore } from './create-store.ts';
import { type Database, defaultPgliteTemplatePath, openDatabase } from './database.ts';
import type { DetectionInput } from './repositories/detection.repository.ts';

const quick = process.argv.includes('--quick');
const DETECTION_ROWS = quick ? 10_000 : 50_000;
const SINGLE_ROWS = quick ? 500 : 2_000;
const TRACKS = quick ? 300 : 2_000;
const UPDATES_PER_TRACK = 5;

function detections(orgId: string, run: string, n: number): DetectionInput[] {
  return Array.from({ length: n }, (_, i) => ({
    orgId,
    deviceId: 'edge-1',
    cameraId: `cam-${i % 4}`,
    seq: i,
    capturedAt: 1_764_000_000_000 + i * 125,
    // About what a busy camera sees: five or six people per frame (DESIGN.md, vtest.avi).
    objects: Array.from({ length: 5 + (i % 2) }, (_, k) => ({
      trackId: `${run}-${k}`,
      class: 'person' as const,
      score: 0.8123,
      box: [0.1 + k * 0.05, 0.2, 0.08, 0.35] as [number, number, number, number],
    })),
  }));
}

/** The life of each track: started, updated a few times, ended; interleaved across tracks. */
function trackEvents(orgId: string, run: string, tracks: number): TrackEventV1[] {
  const events: TrackEventV1[] = [];
  for (let step = 0; step <= UPDATES_PER_TRACK + 1; step++) {
    for (let t = 0; t < tracks; t++) {
      const trackId = `${run}-${t}`;
      const start = 1_764_000_000_000 + t * 1_000;
      const at = start + step * 2_000;
      const base = {
        schema: 'track.v1' as const,
        orgId,
        deviceId: 'edge-1',
        cameraId: `cam-${t % 4}`,
        trackId,
        at,
        class: 'person' as const,
        score: 0.7 + step * 0.01,
        box: [0.1, 0.2, 0.08, 0.35] as [number, number, number, number],
        firstSeenAt: start,
        lastSeenAt: at,
        stationary: false,
        snapshot: null,
      };
      if (step === 0) events.push({ ...base, type: 'TrackStarted', eventId: `${trackId}:TrackStarted:0` });
      else if (step <= UPDATES_PER_TRACK)
        events.push({ ...base, type: 'TrackUpdated', eventId: `${trackId}:TrackUpdated:${step - 1}` });
      else events.push({ ...base, type: 'TrackEnded', eventId: `${trackId}:TrackEnded:0`, hits: 40 });
    }
  }
  return events;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

interface Row {
  target: string;
  what: string;
  count: number;
  seconds: number;
}

async function bench(target: string, database: Database, rows: Row[]): Promise<void> {
  const store = createStore(database.db);
  const orgId = 'bench';
  await store.organisations.create({ id: orgId, name: 'Benchmark' });
  const record = (what: string, count: number, seconds: number) => {
    rows.push({ target, what, count, seconds });
    console.log(
      `  ${target.padEnd(22)} ${what.padEnd(44)} ${Math.round(count / seconds)
        .toLocaleString('en-GB')
        .padStart(8)} /s`,
    );
  };

  // Warm-up (plan caches, JIT) on other rows.
  await store.detections.insertMany(
    detections(orgId, 'warm', 1_000).map((d) => ({ ...d, cameraId: 'warm' })),
  );

  const single = detections(orgId, 's', SINGLE_ROWS).map((d) => ({ ...d, cameraId: 'single' }));
  record(
    'detection rows, one per statement',
    single.length,
    await timed(async () => {
      for (const d of single) await store.detections.insertMany([d]);
    }),
  );

  const batch = detections(orgId, 'b', DETECTION_ROWS);
  record(
    'detection rows, batches of 500',
    batch.length,
    await timed(async () => {
      for (let i = 0; i < batch.length; i += 500) await store.detections.insertMany(batch.slice(i, i + 500));
    }),
  );

  const one = trackEvents(orgId, 'one', TRACKS);
  record(
    'track events, applyEvent one by one',
    one.length,
    await timed(async () => {
      for (const e of one) await store.tracks.applyEvent(e);
    }),
  );

  const many = trackEvents(orgId, 'many', TRACKS);
  record(
    'track events, applyEvents in batches of 500',
    many.length,
    await timed(async () => {
      for (let i = 0; i < many.length; i += 500) await store.tracks.applyEvents(many.slice(i, i + 500));
    }),
  );

  record(
    'track events replayed (no change), batches',
    many.length,
    await timed(async () => {
      for (let i = 0; i < many.length; i += 500) await store.tracks.applyEvents(many.slice(i, i + 500));
    }),
  );
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'iceberg-store-bench-'));
  try {
    console.log(
      `store ingest (Node ${process.version}; ${DETECTION_ROWS} detection rows, ${TRACKS} tracks × ${UPDATES_PER_TRACK + 2} events)`,
    );
    const template = defaultPgliteTemplatePath();
    for (const [name, options] of [
      ['PGlite in memory', { pgliteTemplate: template }],
      ['PGlite in a directory', { dataDir: join(tmp, 'db'), pgliteTemplate: template }],
    ] as const) {
      const database = await openDatabase(options);
      try {
        await bench(name, database, rows);
      } finally {
        await database.close();
      }
    }
    const server = await startPostgres({ durable: true });
    try {
      const database = await openDatabase({ url: await server.createDatabase('bench') });
      try {
        await bench('PostgreSQL 15 (local)', database, rows);
      } finally {
        await database.close();
      }
    } finally {
      server.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({ results: rows.map((r) => ({ ...r, perSecond: Math.round(r.count / r.seconds) })) }),
  );
}

await main();
