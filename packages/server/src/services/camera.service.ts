import { type Clock, IcebergError, type Logger } from '@iceberg/common';
import { CameraConfig } from '@iceberg/config';
import { CameraProblemCode, CameraState, Id } from '@iceberg/contracts';
import type { CameraRecord, CameraWithInput, Page, PageRequest, Store } from '@iceberg/store';
import { z } from 'zod';

/**
 * What a user sets on a camera besides its id, name and input: detection, snapshots, file
 * playback. The same keys as a camera of the configuration file, so that
 * `{ id, name, input, enabled, ...settings }` is a `CameraConfig` (see `cameraConfigOf`).
 */
export const CameraSettings = CameraConfig.omit({ id: true, name: true, input: true, enabled: true });
export type CameraSettings = z.output<typeof CameraSettings>;

const URL_INPUT = /^(rtsps?|rtmps?|https?):\/\/[^/?#\s]+/i;
const DEVICE_INPUT = /^\/dev\/video\d{1,3}$/;
const CONTROL = /\p{Cc}/u;

/** Why ffmpeg should not be given `input`, or null when it is a kind Iceberg reads. */
export function cameraInputProblem(input: string): string | null {
  const kinds = 'an rtsp(s)://, rtmp(s)://, http(s):// URL, an absolute file path or /dev/videoN';
  if (CONTROL.test(input) || /\s/.test(input.slice(0, 1)) || /\s$/.test(input))
    return 'must not contain control characters or start or end with spaces';
  if (URL_INPUT.test(input)) return /\s/.test(input) ? 'a URL must not contain spaces' : null;
  if (DEVICE_INPUT.test(input)) return null;
  if (input.startsWith('/')) {
    if (/^\/(dev|proc|sys)(\/|$)/.test(input)) return `must be ${kinds}: only /dev/videoN devices are read`;
    if (input.split('/').some((part) => part === '..')) return 'a file path must not contain ".." segments';
    if (input.endsWith('/')) return 'a file path must name a file, not a folder';
    return null;
  }
  return `must be ${kinds}`;
}

/** A camera input as the API accepts it. The value is a secret: no message ever repeats it. */
export const CameraInput = z
  .string()
  .min(1, 'input must not be empty')
  .max(2048, 'input is at most 2048 characters')
  .superRefine((input, ctx) => {
    if (input.length === 0 || input.length > 2048) return; // already said
    const problem = cameraInputProblem(input);
    if (problem) ctx.addIssue({ code: 'custom', message: `input ${problem}` });
  });

export const CreateCameraInput = z
  .object({
    /** The camera id used on the bus and in paths: unique within the organisation. */
    id: Id,
    /** Defaults to the id. */
    name: z.string().trim().min(1).max(120).optional(),
    /** The edge device that reads the camera; defaults to the organisation's first device, else "edge-1". */
    deviceId: Id.optional(),
    input: CameraInput,
    enabled: z.boolean().default(true),
    settings: CameraSettings.prefault({}),
  })
  .strict();
export type CreateCameraInput = z.output<typeof CreateCameraInput>;

/** Only what is given changes; `settings`, when given, replaces the settings as a whole. */
export const UpdateCameraInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    deviceId: Id,
    input: CameraInput,
    enabled: z.boolean(),
    settings: CameraSettings,
  })
  .partial()
  .strict();
export type UpdateCameraInput = z.output<typeof UpdateCameraInput>;

/** A camera as the API shows it: the input has its password replaced by `***`. */
export const CameraView = z.object({
  id: z.string(),
  name: z.string(),
  deviceId: z.string(),
  enabled: z.boolean(),
  input: z.string().describe('what the camera reads, with any password replaced by ***'),
  settings: CameraSettings,
  state: CameraState,
  problem: z.object({ code: CameraProblemCode, message: z.string() }).nullable(),
  stateAt: z.number().nullable(),
  latestSnapshotAt: z.number().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type CameraView = z.output<typeof CameraView>;

const SECRET_PARAM =
  /([?&;](?:[^=&;#\s]*?(?:pass|pwd|token|secret|key|auth|sig|credential)[^=&;#\s]*)=)[^&;#\s]*/gi;
/**
 * Everything between `scheme://` and the last `@` before any query, fragment or space. A `/` may
 * be inside (a password with a slash): better to hide part of a path holding `@` than a password.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s?#@]*(?:@[^\s?#@]*)*)@/gi;

/**
 * `text` with the passwords of any URLs in it replaced by `***`: `rtsp://admin:***@cam/…`, and
 * secret-looking query parameters (`?pwd=***`). Used on inputs and on problem messages, which
 * may quote the URL.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(USERINFO, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(SECRET_PARAM, '$1***');
}

/** The configuration the edge device runs the camera with (holds the raw input: a secret). */
export function cameraConfigOf(camera: CameraWithInput): CameraConfig {
  const { enabled, ...settings } = splitSettings(camera.settings);
  return CameraConfig.parse({ id: camera.id, name: camera.name, input: camera.input, enabled, ...settings });
}

/** The stored settings column holds `enabled` next to the settings (the table has no column for it). */
function splitSettings(stored: Record<string, unknown>): { enabled: boolean } & CameraSettings {
  const { enabled, ...rest } = stored;
  const parsed = CameraSettings.safeParse(rest);
  return { enabled: enabled !== false, ...(parsed.success ? parsed.data : CameraSettings.parse({})) };
}

function storedSettings(enabled: boolean, settings: CameraSettings): Record<string, unknown> {
  return { ...settings, enabled };
}

export interface CameraServiceOptions {
  store: Store;
  clock: Pick<Clock, 'now'>;
  logger?: Logger;
  /** Called after a camera is created, changed or deleted (e.g. to reconfigure its edge device). */
  onChange?: (orgId: string, cameraId: string) => void;
}

/** The cameras of an organisation: what users configure; the raw input never leaves through here. */
export class CameraService {
  constructor(private readonly o: CameraServiceOptions) {}

  async list(orgId: string, filter: { deviceId?: string }, page: PageRequest): Promise<Page<CameraView>> {
    const result = await this.o.store.cameras.list(orgId, filter, page);
    const items: CameraView[] = [];
    for (const camera of result.items) items.push(await this.view(orgId, camera));
    return { items, nextCursor: result.nextCursor };
  }

  /** Throws ICEBERG_ERR_NOT_FOUND unless the organisation has the camera. */
  async get(orgId: string, id: string): Promise<CameraView> {
    const camera = await this.o.store.cameras.getWithInput(orgId, id);
    if (!camera) throw notFound(id);
    return toView(camera);
  }

  /** Throws ICEBERG_ERR_CONFLICT when the organisation already has a camera with this id. */
  async create(orgId: string, input: CreateCameraInput): Promise<CameraView> {
    const deviceId = input.deviceId ?? (await this.defaultDeviceId(orgId));
    const camera = await this.o.store.cameras.create({
      orgId,
      id: input.id,
      deviceId,
      name: input.name ?? input.id,
      input: input.input,
      settings: storedSettings(input.enabled, input.settings),
      createdAt: this.o.clock.now(),
    });
    this.o.logger?.info({ orgId, cameraId: camera.id, deviceId }, 'camera created');
    this.changed(orgId, camera.id);
    return toView({ ...camera, input: input.input });
  }

  async update(orgId: string, id: string, patch: UpdateCameraInput): Promise<CameraView> {
    const current = await this.o.store.cameras.getWithInput(orgId, id);
    if (!current) throw notFound(id);
    let settings: Record<string, unknown> | undefined;
    if (patch.enabled !== undefined || patch.settings !== undefined) {
      const now = splitSettings(current.settings);
      const { enabled: _enabled, ...currentSettings } = now;
      settings = storedSettings(patch.enabled ?? now.enabled, patch.settings ?? currentSettings);
    }
    const updated = await this.o.store.cameras.update(
      orgId,
      id,
      {
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.deviceId !== undefined && { deviceId: patch.deviceId }),
        ...(patch.input !== undefined && { input: patch.input }),
        ...(settings !== undefined && { settings }),
      },
      this.o.clock.now(),
    );
    if (!updated) throw notFound(id);
    this.changed(orgId, id);
    return toView({ ...updated, input: patch.input ?? current.input });
  }

  async delete(orgId: string, id: string): Promise<void> {
    if (!(await this.o.store.cameras.delete(orgId, id))) throw notFound(id);
    this.o.logger?.info({ orgId, cameraId: id }, 'camera deleted');
    this.changed(orgId, id);
  }

  /** The configuration the edge device runs the camera with (holds the raw input: a secret). */
  async edgeConfig(orgId: string, id: string): Promise<CameraConfig> {
    const camera = await this.o.store.cameras.getWithInput(orgId, id);
    if (!camera) throw notFound(id);
    return cameraConfigOf(camera);
  }

  private async view(orgId: string, camera: CameraRecord): Promise<CameraView> {
    // The list leaves the input out; read it to show its redacted form.
    const full = await this.o.store.cameras.getWithInput(orgId, camera.id);
    return toView(full ?? { ...camera, input: '' });
  }

  private async defaultDeviceId(orgId: string): Promise<string> {
    const devices = await this.o.store.devices.list(orgId, {}, { limit: 1 });
    return devices.items[0]?.id ?? 'edge-1';
  }

  private changed(orgId: string, cameraId: string): void {
    try {
      this.o.onChange?.(orgId, cameraId);
    } catch (err) {
      this.o.logger?.warn({ err, orgId, cameraId }, 'camera change listener failed');
    }
  }
}

function notFound(id: string): IcebergError {
  return new IcebergError('ICEBERG_ERR_NOT_FOUND', `no camera "${id}" in this organisation`);
}

function toView(camera: CameraWithInput): CameraView {
  const { enabled, ...settings } = splitSettings(camera.settings);
  const problem = camera.problem as { code?: unknown; message?: unknown } | null;
  const code = CameraProblemCode.safeParse(problem?.code);
  return {
    id: camera.id,
    name: camera.name,
    deviceId: camera.deviceId,
    enabled,
    input: redactSecrets(camera.input),
    settings,
    state: camera.state,
    problem:
      problem && code.success
        ? { code: code.data, message: redactSecrets(String(problem.message ?? '')) }
        : null,
    stateAt: camera.stateAt,
    latestSnapshotAt: camera.latestSnapshotAt,
    createdAt: camera.createdAt,
    updatedAt: camera.updatedAt,
  };
}
