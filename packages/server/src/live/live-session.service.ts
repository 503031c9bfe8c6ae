import { randomBytes } from 'node:crypto';
import {
  type Clock,
  errorMessage,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@iceberg/common';
import type { ServerLiveConfig } from '@iceberg/config';
import type { CommandAckV1 } from '@iceberg/contracts';
import type { Store } from '@iceberg/store';
import { z } from 'zod';
import type { CommandStatus, Messenger } from './messenger.ts';
import type { PlaybackUrls, Restreamer, StreamRef } from './restreamer.ts';

/**
 * Live sessions: one per camera per organisation, shared by all its viewers. The first viewer's
 * `start` opens a stream on the re-streaming server and commands the camera's device to push
 * to it; later viewers join. Each viewer sends heartbeats; one silent for `viewerIdleSeconds`
 * has left. When no viewer is left the device is told to stop and the stream is closed. While
 * viewers remain the StartStream is renewed every third of its time-to-live, so a device that
 * stops hearing from the server stops by itself.
 *
 * State lives in this server instance's memory: with several server instances a viewer must
 * reach the instance holding the session (sticky routing by camera), which is fine for one
 * instance or the all-in-one box.
 */
export const LiveSessionState = z.enum(['starting', 'live', 'failed', 'stopped']);
export type LiveSessionState = z.infer<typeof LiveSessionState>;

export const LiveCommandView = z.object({
  id: z.string(),
  type: z.enum(['StartStream', 'StopStream']),
  state: z.enum(['sent', 'accepted', 'started', 'stopped', 'failed', 'timed_out']),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  attempts: z.number().int(),
  sentAt: z.number(),
  updatedAt: z.number(),
});
export type LiveCommandView = z.infer<typeof LiveCommandView>;

export const PlaybackView = z.object({
  hls: z.string().meta({ description: 'HLS playlist (path on this server, signed, expires)' }),
  ws: z.string().meta({ description: 'Low-latency fMP4 over WebSocket (path on this server, signed)' }),
  expiresAt: z.number(),
});

export const LiveSessionView = z.object({
  sessionId: z.string(),
  cameraId: z.string(),
  deviceId: z.string(),
  state: LiveSessionState,
  /** Why the session failed or stopped (a command reason such as `device_unreachable`, or `no_viewers`). */
  reason: z.string().nullable(),
  message: z.string().nullable(),
  annotated: z.boolean(),
  viewers: z.number().int(),
  createdAt: z.number(),
  liveAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  /** Null once the session has failed or stopped. */
  playback: PlaybackView.nullable(),
  /** The latest StartStream (or the StopStream once stopping). */
  command: LiveCommandView.nullable(),
});
export type LiveSessionView = z.infer<typeof LiveSessionView>;

export const StartedLiveSession = LiveSessionView.extend({
  viewerId: z.string().meta({ description: 'Send it with heartbeats and when leaving' }),
  created: z.boolean().meta({ description: 'True when this call started the session, false when it joined' }),
});
export type StartedLiveSession = z.infer<typeof StartedLiveSession>;

export interface LiveSessionCaller {
  orgId: string;
  userId: string;
}

/** Where session changes are pushed (the WebSocket hub's `status` channel). */
export interface LiveSessionPush {
  publish(orgId: string, type: 'live-session', data: LiveSessionView): void;
}

export interface LiveSessionServiceOptions {
  store: Pick<Store, 'cameras'>;
  messenger: Messenger;
  restreamer: Restreamer;
  config: ServerLiveConfig;
  push?: LiveSessionPush;
  clock?: Clock;
  logger?: Logger;
}

interface Viewer {
  id: string;
  userId: string;
  lastSeenAt: number;
  timer: TimerHandle;
}

interface Session {
  id: string;
  orgId: string;
  cameraId: string;
  deviceId: string;
  annotated: boolean;
  publishUrl: string;
  state: LiveSessionState;
  reason: string | null;
  message: string | null;
  createdAt: number;
  liveAt: number | null;
  endedAt: number | null;
  viewers: Map<string, Viewer>;
  command: CommandStatus | null;
  renewTimer: TimerHandle | null;
  forgetTimer: TimerHandle | null;
}

/** Ended sessions stay readable this long (the "starting…" UI learns why it failed). */
const KEEP_ENDED_MS = 5 * 60_000;

export class LiveSessionService {
  private readonly sessions = new Map<string, Session>();
  /** `${orgId}/${cameraId}` → the running (starting or live) session. */
  private readonly byCamera = new Map<string, Session>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly o: LiveSessionServiceOptions) {
    this.clock = o.clock ?? systemClock;
    this.logger = (o.logger ?? silentLogger()).child({ component: 'live-sessions' });
    o.messenger.on('command', (status) => this.onCommand(status));
    o.messenger.on('ack', (ack) => this.onAck(ack));
    o.restreamer.on('publishStarted', (ref) => this.onPublish(ref, true));
    o.restreamer.on('publishEnded', (ref) => this.onPublish(ref, false));
  }

  /** Sessions starting or live (for metrics and tests). */
  get running(): number {
    return this.byCamera.size;
  }

  /** Starts watching a camera: joins its running session or starts one. */
  async start(
    caller: LiveSessionCaller,
    cameraId: string,
    options: { annotated: boolean },
  ): Promise<StartedLiveSession> {
    if (this.closed)
      throw new IcebergError('ICEBERG_ERR_RESTREAM_UNAVAILABLE', 'the server is shutting down');
    const camera = await this.o.store.cameras.get(caller.orgId, cameraId);
    if (!camera)
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `no camera "${cameraId}" in this organisation`);
    if (camera.settings.enabled === false)
      throw new IcebergError(
        'ICEBERG_ERR_CONFLICT',
        `the camera "${cameraId}" is disabled: enable it to watch it live`,
      );
    const key = `${caller.orgId}/${cameraId}`;
    // Checked again after the await: two first viewers arriving together share one session.
    const running = this.byCamera.get(key);
    if (running) {
      const viewer = this.addViewer(running, caller.userId);
      this.logger.info(
        { session: running.id, camera: cameraId, viewers: running.viewers.size },
        'viewer joined',
      );
      return { ...this.view(running), viewerId: viewer.id, created: false };
    }
    const now = this.clock.now();
    const id = `ls-${randomBytes(12).toString('hex')}`;
    const ref: StreamRef = { orgId: caller.orgId, cameraId, streamId: id };
    const { publishUrl } = this.o.restreamer.openStream(ref);
    const session: Session = {
      id,
      orgId: caller.orgId,
      cameraId,
      deviceId: camera.deviceId,
      annotated: options.annotated,
      publishUrl,
      state: 'starting',
      reason: null,
      message: null,
      createdAt: now,
      liveAt: null,
      endedAt: null,
      viewers: new Map(),
      command: null,
      renewTimer: null,
      forgetTimer: null,
    };
    this.sessions.set(id, session);
    this.byCamera.set(key, session);
    const viewer = this.addViewer(session, caller.userId);
    this.logger.info(
      { session: id, camera: cameraId, device: camera.deviceId, annotated: options.annotated },
      'live session starting',
    );
    await this.sendStart(session);
    this.scheduleRenewal(session);
    this.changed(session);
    return { ...this.view(session), viewerId: viewer.id, created: true };
  }

  get(orgId: string, sessionId: string): LiveSessionView {
    return this.view(this.find(orgId, sessionId));
  }

  /** A viewer is still watching; returns the session with fresh playback URLs. */
  heartbeat(orgId: string, sessionId: string, viewerId: string): LiveSessionView {
    const session = this.find(orgId, sessionId);
    if (session.state === 'failed' || session.state === 'stopped') return this.view(session);
    const viewer = session.viewers.get(viewerId);
    if (!viewer)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        `no viewer "${viewerId}" in this session (it left or was idle for ${this.o.config.viewerIdleSeconds} s): start watching again`,
      );
    viewer.lastSeenAt = this.clock.now();
    this.clock.clearTimeout(viewer.timer);
    viewer.timer = this.idleTimer(session, viewer.id);
    return this.view(session);
  }

  /** A viewer leaves; the last one to leave stops the stream. Leaving twice is fine. */
  leave(orgId: string, sessionId: string, viewerId: string): void {
    const session = this.find(orgId, sessionId);
    this.removeViewer(session, viewerId, 'left');
  }

  /** Stops every session (server shutdown): devices are told to stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.byCamera.values()])
      this.end(s, 'stopped', 'server_stopping', 'the server is shutting down');
    for (const s of this.sessions.values()) if (s.forgetTimer) this.clock.clearTimeout(s.forgetTimer);
    this.sessions.clear();
  }

  // --- viewers ---------------------------------------------------------------------------------

  private addViewer(session: Session, userId: string): Viewer {
    const id = `v-${randomBytes(9).toString('hex')}`;
    const viewer: Viewer = { id, userId, lastSeenAt: this.clock.now(), timer: this.idleTimer(session, id) };
    session.viewers.set(id, viewer);
    return viewer;
  }

  private idleTimer(session: Session, viewerId: string): TimerHandle {
    return this.clock.setTimeout(
      () => this.removeViewer(session, viewerId, 'idle'),
      this.o.config.viewerIdleSeconds * 1000,
    );
  }

  private removeViewer(session: Session, viewerId: string, why: 'left' | 'idle'): void {
    const viewer = session.viewers.get(viewerId);
    if (!viewer) return;
    this.clock.clearTimeout(viewer.timer);
    session.viewers.delete(viewerId);
    this.logger.info(
      { session: session.id, viewer: viewerId, why, viewers: session.viewers.size },
      'viewer gone',
    );
    if (session.viewers.size > 0 || (session.state !== 'starting' && session.state !== 'live')) {
      this.changed(session);
      return;
    }
    const message =
      why === 'idle'
        ? `no viewer sent a heartbeat for ${this.o.config.viewerIdleSeconds} s`
        : 'the last viewer left';
    this.end(session, 'stopped', 'no_viewers', message);
  }

  // --- commands --------------------------------------------------------------------------------

  private async sendStart(session: Session): Promise<void> {
    try {
      const status = await this.o.messenger.send({
        type: 'StartStream',
        orgId: session.orgId,
        deviceId: session.deviceId,
        cameraId: session.cameraId,
        streamId: session.id,
        publishUrl: session.publishUrl,
        annotated: session.annotated,
        ttlSeconds: this.o.config.streamTtlSeconds,
      });
      // Applied again (idempotent): a final status (device offline) is then shown before `start` returns.
      this.onCommand(status);
    } catch (err) {
      this.end(session, 'failed', 'internal', `the start command could not be sent: ${errorMessage(err)}`);
    }
  }

  private scheduleRenewal(session: Session): void {
    if (session.state !== 'starting' && session.state !== 'live') return;
    const ms = Math.max(1000, (this.o.config.streamTtlSeconds * 1000) / 3);
    session.renewTimer = this.clock.setTimeout(() => {
      session.renewTimer = null;
      if (session.state !== 'starting' && session.state !== 'live') return;
      // The stream stays registered (openStream is idempotent); the device renews its time-to-live.
      session.publishUrl = this.o.restreamer.openStream({
        orgId: session.orgId,
        cameraId: session.cameraId,
        streamId: session.id,
      }).publishUrl;
      void this.sendStart(session);
      this.scheduleRenewal(session);
    }, ms);
  }

  /** Stream ids are unique per session, so a command's stream names its session. */
  private onCommand(status: Readonly<CommandStatus>): void {
    const session = this.sessions.get(status.streamId);
    if (!session || session.orgId !== status.orgId) return;
    if (status.type === 'StopStream') {
      // A failed session keeps showing the start command that failed.
      if (session.state === 'stopped') session.command = { ...status };
      this.changed(session);
      return;
    }
    // A renewal replaces the shown command once it says something new (not while merely sent).
    const shown = session.command;
    if (!shown || shown.id === status.id || status.state !== 'sent') session.command = { ...status };
    if (session.state !== 'starting' && session.state !== 'live') return;
    switch (status.state) {
      case 'started':
        if (!this.goLive(session)) this.changed(session);
        return;
      case 'failed':
      case 'timed_out':
        this.end(
          session,
          'failed',
          status.reason ?? 'internal',
          status.message ?? 'the device could not start the stream',
        );
        return;
      case 'stopped':
        this.end(
          session,
          'failed',
          status.reason ?? 'stopped',
          status.message ?? 'the device stopped the stream',
        );
        return;
      default:
        this.changed(session);
    }
  }

  /** Acks about the stream after its command was answered: e.g. the device gave up or its TTL ran out. */
  private onAck(ack: CommandAckV1): void {
    const session = this.sessions.get(ack.streamId);
    if (!session || session.orgId !== ack.orgId) return;
    if (session.state !== 'starting' && session.state !== 'live') return;
    if (ack.status === 'started') this.goLive(session);
  }

  private onPublish(ref: StreamRef, publishing: boolean): void {
    const session = this.sessions.get(ref.streamId);
    if (!session || session.orgId !== ref.orgId) return;
    if (publishing) {
      this.goLive(session);
    } else if (session.state === 'live') {
      // The device restarts a broken push while the stream is wanted.
      session.state = 'starting';
      session.message = 'the device stream was interrupted; waiting for it to come back';
      this.changed(session);
    }
  }

  /** True when the session went live now (and the change was pushed). */
  private goLive(session: Session): boolean {
    if (session.state !== 'starting') return false;
    session.state = 'live';
    session.message = null;
    session.liveAt ??= this.clock.now();
    this.logger.info({ session: session.id, camera: session.cameraId }, 'live session is live');
    this.changed(session);
    return true;
  }

  /** Ends a session: the device is told to stop (best effort), the stream closed, the viewers dropped. */
  private end(session: Session, state: 'failed' | 'stopped', reason: string, message: string): void {
    if (session.state === 'failed' || session.state === 'stopped') return;
    session.state = state;
    session.reason = reason;
    session.message = message;
    session.endedAt = this.clock.now();
    if (session.renewTimer) this.clock.clearTimeout(session.renewTimer);
    session.renewTimer = null;
    for (const v of session.viewers.values()) this.clock.clearTimeout(v.timer);
    session.viewers.clear();
    const key = `${session.orgId}/${session.cameraId}`;
    if (this.byCamera.get(key) === session) this.byCamera.delete(key);
    try {
      this.o.restreamer.closeStream(session.id);
    } catch (err) {
      this.logger.warn({ session: session.id, err: errorMessage(err) }, 'closing the stream failed');
    }
    this.logger[state === 'failed' ? 'warn' : 'info'](
      { session: session.id, camera: session.cameraId, reason, message },
      `live session ${state}`,
    );
    // Even after a failure: a device that answered late must not push forever.
    void this.o.messenger
      .send({
        type: 'StopStream',
        orgId: session.orgId,
        deviceId: session.deviceId,
        cameraId: session.cameraId,
        streamId: session.id,
      })
      .then((status) => {
        if (state === 'stopped') session.command = { ...status };
      })
      .catch((err) =>
        this.logger.warn({ session: session.id, err: errorMessage(err) }, 'stop command not sent'),
      );
    session.forgetTimer = this.clock.setTimeout(() => this.sessions.delete(session.id), KEEP_ENDED_MS);
    this.changed(session);
  }

  // --- views -----------------------------------------------------------------------------------

  private find(orgId: string, sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    // Another organisation's session is not found, never forbidden-but-present.
    if (!session || session.orgId !== orgId)
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `no live session "${sessionId}" in this organisation`);
    return session;
  }

  private view(session: Session): LiveSessionView {
    const active = session.state === 'starting' || session.state === 'live';
    let playback: PlaybackUrls | null = null;
    if (active) {
      const expiresAt = this.clock.now() + this.o.config.playbackUrlSeconds * 1000;
      playback = this.o.restreamer.playbackUrls(session.id, expiresAt);
    }
    const c = session.command;
    return {
      sessionId: session.id,
      cameraId: session.cameraId,
      deviceId: session.deviceId,
      state: session.state,
      reason: session.reason,
      message: session.message,
      annotated: session.annotated,
      viewers: session.viewers.size,
      createdAt: session.createdAt,
      liveAt: session.liveAt,
      endedAt: session.endedAt,
      playback: playback && { hls: playback.hls, ws: playback.ws, expiresAt: playback.expiresAt },
      command: c && {
        id: c.id,
        type: c.type,
        state: c.state,
        reason: c.reason,
        message: c.message,
        attempts: c.attempts,
        sentAt: c.sentAt,
        updatedAt: c.updatedAt,
      },
    };
  }

  private changed(session: Session): void {
    if (!this.o.push) return;
    try {
      this.o.push.publish(session.orgId, 'live-session', this.view(session));
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'live session push failed');
    }
  }
}
