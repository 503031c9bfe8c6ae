import { Bus, MemoryBus } from '@iceberg/bus';
import { TypedEmitter } from '@iceberg/common';
import type { CommandAckV1, CommandV1 } from '@iceberg/contracts';
import type { PlaybackUrls, Restreamer, RestreamerEvents, StreamRef } from './restreamer.ts';

/** For unit tests: a re-streaming server that remembers what it was asked. */
export class RecordingRestreamer extends TypedEmitter<RestreamerEvents> implements Restreamer {
  readonly open = new Map<string, StreamRef>();
  readonly closed: string[] = [];

  openStream(stream: StreamRef): { publishUrl: string } {
    this.open.set(stream.streamId, stream);
    return { publishUrl: `rtmp://127.0.0.1:1935/live/${stream.streamId}?key=k-${stream.streamId}` };
  }

  closeStream(streamId: string): void {
    this.open.delete(streamId);
    this.closed.push(streamId);
  }

  playbackUrls(streamId: string, expiresAt: number): PlaybackUrls {
    return { hls: `/live/hls/t-${streamId}/index.m3u8`, ws: `/live/ws/t-${streamId}`, expiresAt };
  }

  isPublishing(streamId: string): boolean {
    return this.open.has(streamId);
  }

  publishStarted(ref: StreamRef): void {
    this.emit('publishStarted', ref);
  }
}

/**
 * For unit tests: a device on the bus that records the commands addressed to it and answers
 * as `answer` says (nothing: a silent device).
 */
export class ScriptedDevice {
  readonly commands: CommandV1[] = [];
  answer: (command: CommandV1) => CommandAckV1['status'][] = () => [];

  constructor(
    private readonly bus: Bus,
    readonly orgId: string,
    readonly deviceId: string,
  ) {}

  async start(): Promise<void> {
    await this.bus.subscribe('commands', { group: `device-${this.orgId}-${this.deviceId}` }, async (c) => {
      if (c.orgId !== this.orgId || c.deviceId !== this.deviceId) return;
      this.commands.push(c);
      for (const status of this.answer(c)) await this.ack(c, status);
    });
  }

  async ack(c: CommandV1, status: CommandAckV1['status'], reason?: CommandAckV1['reason']): Promise<void> {
    await this.bus.publish('commandAcks', {
      schema: 'command-ack.v1',
      orgId: c.orgId,
      deviceId: c.deviceId,
      commandId: c.commandId,
      cameraId: c.cameraId,
      streamId: c.streamId,
      at: Date.now(),
      status,
      ...(reason && { reason }),
    });
  }
}

export function memoryBus(): Bus {
  return new Bus(new MemoryBus({ redeliveryDelayMs: 5 }));
}

/** Lets the in-process bus deliver what is in flight (it delivers on later turns of the event loop). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
