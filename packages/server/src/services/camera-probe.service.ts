import { IcebergError, type Logger } from '@iceberg/common';
import type { CameraProblemCode } from '@iceberg/contracts';
import { CameraSource, type CameraSourceStatus } from '@iceberg/edge';
import { redactSecrets } from './camera.service.ts';

/** What a connection test found: the stream, or why the input cannot be read. */
export type ProbeResult =
  | { ok: true; stream: { width: number; height: number; codec: string; fps: number } }
  | { ok: false; problem: { code: CameraProblemCode; message: string } };

export interface CameraProbeOptions {
  logger?: Logger;
  /** Probes running at once per organisation. Default 2. */
  maxPerOrg?: number;
  /** For tests: ffmpeg's path (default env FFMPEG_PATH, else `ffmpeg`). */
  ffmpegPath?: string;
}

export const PROBE_DEFAULT_TIMEOUT_MS = 8_000;
export const PROBE_MAX_TIMEOUT_MS = 15_000;

/**
 * Tries a camera input once: a live CameraSource that waits for its first frame (online) or its
 * first failure (offline), then is stopped. Messages never hold the input's credentials.
 */
export class CameraProbeService {
  private readonly running = new Map<string, number>();
  private readonly maxPerOrg: number;

  constructor(private readonly o: CameraProbeOptions = {}) {
    this.maxPerOrg = o.maxPerOrg ?? 2;
  }

  /** Throws ICEBERG_ERR_RATE_LIMITED when the organisation already runs `maxPerOrg` probes. */
  async probe(orgId: string, input: string, timeoutMs = PROBE_DEFAULT_TIMEOUT_MS): Promise<ProbeResult> {
    const now = this.running.get(orgId) ?? 0;
    if (now >= this.maxPerOrg)
      throw new IcebergError(
        'ICEBERG_ERR_RATE_LIMITED',
        `at most ${this.maxPerOrg} connection tests run at once; try again when one is over`,
      );
    this.running.set(orgId, now + 1);
    try {
      return await this.run(input, Math.min(Math.max(timeoutMs, 1_000), PROBE_MAX_TIMEOUT_MS));
    } finally {
      const left = (this.running.get(orgId) ?? 1) - 1;
      if (left <= 0) this.running.delete(orgId);
      else this.running.set(orgId, left);
    }
  }

  private async run(input: string, connectTimeoutMs: number): Promise<ProbeResult> {
    let source: CameraSource;
    try {
      source = new CameraSource({
        cameraId: 'probe',
        input,
        mode: 'live',
        fps: 1,
        realtime: false,
        connectTimeoutMs,
        ioTimeoutMs: Math.min(connectTimeoutMs, 10_000),
        initialBackoffMs: 10 * 60_000,
        maxBackoffMs: 10 * 60_000,
        killGraceMs: 1_000,
        ...(this.o.ffmpegPath ? { ffmpegPath: this.o.ffmpegPath } : {}),
        ...(this.o.logger ? { logger: this.o.logger } : {}),
      });
    } catch (err) {
      return fail('invalid_input', err instanceof Error ? err.message : String(err));
    }
    try {
      const status = await new Promise<CameraSourceStatus>((resolve) => {
        // Beyond the source's own watchdog, in case it never reports.
        const guard = setTimeout(
          () =>
            resolve({
              ...source.status,
              state: 'offline',
              problem: { code: 'timeout', message: 'no answer in time' },
            }),
          connectTimeoutMs + 5_000,
        );
        source.on('status', (s) => {
          if (s.state === 'online' || (s.state === 'offline' && s.problem)) {
            clearTimeout(guard);
            resolve(s);
          }
        });
        source.start();
      });
      if (status.state === 'online' && status.stream) {
        const { width, height, codec, fps } = status.stream;
        return { ok: true, stream: { width, height, codec, fps } };
      }
      const problem = status.problem ?? {
        code: 'error' as CameraProblemCode,
        message: 'the camera did not answer',
      };
      return fail(problem.code, problem.message);
    } finally {
      await source.stop();
    }
  }
}

function fail(code: CameraProblemCode, message: string): ProbeResult {
  return { ok: false, problem: { code, message: redactSecrets(message).slice(0, 1000) } };
}
