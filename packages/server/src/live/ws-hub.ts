import type { WebSocket } from 'ws';

/** What the server pushes on `/api/ws`: `{ "type": …, "data": … }` JSON text frames. */
export type LiveMessageType =
  | 'alert'
  | 'alert-updated'
  | 'detection'
  | 'camera-status'
  | 'device-status'
  | 'live-session';

/** Channels a client can subscribe to (`?topics=alerts,detections`); alerts by default. */
export const liveChannels = {
  alert: 'alerts',
  'alert-updated': 'alerts',
  detection: 'detections',
  'camera-status': 'status',
  'device-status': 'status',
  'live-session': 'status',
} as const satisfies Record<LiveMessageType, string>;
export type LiveChannel = (typeof liveChannels)[LiveMessageType];

interface Client {
  socket: WebSocket;
  orgId: string;
  channels: Set<LiveChannel>;
  alive: boolean;
}

/** Past this much unsent data, lossy messages (detections) are skipped for that client. */
const SLOW_CLIENT_BYTES = 1 << 20;

/**
 * The live push: every connected client of an organisation gets the messages of that
 * organisation on the channels it asked for, never another organisation's. A slow client
 * misses detections (the next one supersedes them) but never alerts. Dead connections are
 * found by ping/pong and closed.
 */
export class WsHub {
  private readonly clients = new Set<Client>();
  private readonly pinger: NodeJS.Timeout;
  sent = 0;
  skipped = 0;

  constructor(pingIntervalMs = 30_000) {
    this.pinger = setInterval(() => this.ping(), pingIntervalMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket, orgId: string, channels: Iterable<LiveChannel>): void {
    const client: Client = { socket, orgId, channels: new Set(channels), alive: true };
    this.clients.add(client);
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
  }

  publish(orgId: string, type: LiveMessageType, data: unknown): void {
    const channel = liveChannels[type];
    let text: string | null = null;
    for (const c of this.clients) {
      if (c.orgId !== orgId || !c.channels.has(channel) || c.socket.readyState !== c.socket.OPEN) continue;
      if (channel === 'detections' && c.socket.bufferedAmount > SLOW_CLIENT_BYTES) {
        this.skipped++;
        continue;
      }
      text ??= JSON.stringify({ type, data });
      c.socket.send(text);
      this.sent++;
    }
  }

  close(): void {
    clearInterval(this.pinger);
    for (const c of this.clients) c.socket.close(1001, 'server shutting down');
    this.clients.clear();
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.socket.terminate();
        this.clients.delete(c);
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }
}
