import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@iceberg/common';
import { BoxSplitter, describeInit, fragmentStartsWithKeyframe } from './fmp4-boxes.ts';

/**
 * The low-latency relay of one live stream: one ffmpeg pulls the stream from nginx over RTMP and
 * re-muxes it (`-c copy`) into fragmented MP4 with one fragment per frame; the relay keeps the
 * init segment (ftyp + moov) and the fragments since the last keyframe, and fans them out to
 * every viewer's WebSocket. A new viewer gets `{"type":"init","codec":…}` (text), the init
 * segment, then the fragments from the latest keyframe on, so its decoder starts at once.
 * Backpressure: a viewer with more than SOFT bytes unsent skips to the next keyframe; with more
 * than HARD bytes it is dropped (close 1013), so memory never grows without bound. ffmpeg runs
 * only while someone watches; it is restarted with backoff when it ends while viewers remain.
 */

/** The part of a WebSocket the relay uses (ws's WebSocket satisfies it). */
export interface RelaySocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Buffer | string, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
}

export interface Fmp4RelayOptions {
  /** The RTMP URL to pull (loopback). */
  source: string;
  ffmpegPath: string;
  logger: Logger;
  /** Called when the last viewer left and the relay stopped. */
  onIdle?: () => void;
  softLimitBytes?: number;
  hardLimitBytes?: number;
}

interface Viewer {
  socket: RelaySocket;
  /** Skipping fragments until the next keyframe (new init, or it fell behind). */
  waitingForKey: boolean;
}

const OPEN = 1;
/** The fragments of one group of pictures kept for new viewers are capped at this size. */
const MAX_GOP_BYTES = 16 << 20;

export function relayFfmpegArgs(source: string): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    // The device's push has no audio, but an RTMP reader expects some: probe briefly.
    '-analyzeduration',
    '100000',
    '-probesize',
    '32768',
    '-i',
    source,
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    '-an',
    '-f',
    'mp4',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof+frag_every_frame',
    'pipe:1',
  ];
}

export class Fmp4Relay {
  readonly #o: Fmp4RelayOptions;
  readonly #viewers = new Set<Viewer>();
  #proc: ChildProcess | null = null;
  #init: Buffer | null = null;
  #codec: string | null = null;
  #trexFlags: number | undefined;
  #ftyp: Buffer | null = null;
  #moof: Buffer | null = null;
  #gop: Buffer[] = [];
  #gopBytes = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #backoffMs = 250;
  #closed = false;
  /** Fragments sent, for tests and metrics. */
  fragments = 0;

  constructor(options: Fmp4RelayOptions) {
    this.#o = options;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  get running(): boolean {
    return this.#proc !== null;
  }

  get codec(): string | null {
    return this.#codec;
  }

  /** Adds a viewer; starts ffmpeg for the first. Returns a function that removes it. */
  add(socket: RelaySocket): () => void {
    if (this.#closed) {
      socket.close(1001, 'the stream has ended');
      return () => undefined;
    }
    const viewer: Viewer = { socket, waitingForKey: true };
    this.#viewers.add(viewer);
    if (this.#init && this.#codec) {
      this.#sendInit(viewer);
      if (this.#gop.length > 0) {
        viewer.waitingForKey = false;
        for (const fragment of this.#gop) socket.send(fragment);
      }
    }
    if (!this.#proc && !this.#restartTimer) this.#start();
    return () => this.#remove(viewer);
  }

  #remove(viewer: Viewer): void {
    if (!this.#viewers.delete(viewer)) return;
    if (this.#viewers.size === 0) {
      this.#stopProcess();
      this.#o.onIdle?.();
    }
  }

  /** Ends the relay: ffmpeg stops and every viewer is closed with `reason`. */
  close(reason = 'the stream has ended'): void {
    this.#closed = true;
    this.#stopProcess();
    for (const v of this.#viewers) v.socket.close(1001, reason);
    this.#viewers.clear();
  }

  #sendInit(viewer: Viewer): void {
    viewer.socket.send(JSON.stringify({ type: 'init', codec: this.#codec }));
    viewer.socket.send(this.#init!);
  }

  #start(): void {
    const proc = spawn(this.#o.ffmpegPath, relayFfmpegArgs(this.#o.source), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    this.#ftyp = null;
    this.#moof = null;
    const splitter = new BoxSplitter();
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => {
      stderr = (stderr + c).slice(-2000);
    });
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (this.#proc !== proc) return;
      try {
        for (const box of splitter.push(chunk)) this.#onBox(box.type, Buffer.from(box.bytes));
      } catch (err) {
        this.#o.logger.warn(
          { err: (err as Error).message },
          'live relay: malformed MP4 from ffmpeg; restarting',
        );
        proc.kill('SIGKILL');
      }
    });
    proc.once('error', (err) => {
      this.#o.logger.error({ err: err.message }, 'live relay: ffmpeg could not be started');
    });
    proc.once('close', (code, signal) => {
      if (this.#proc !== proc) return;
      this.#proc = null;
      if (this.#closed || this.#viewers.size === 0) return;
      this.#o.logger.debug(
        { code, signal, stderr: stderr.trim().slice(-300) },
        'live relay: ffmpeg ended; restarting',
      );
      const wait = this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (!this.#closed && this.#viewers.size > 0 && !this.#proc) this.#start();
      }, wait);
      this.#restartTimer.unref();
    });
  }

  #stopProcess(): void {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const proc = this.#proc;
    this.#proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
    timer.unref();
    proc.once('close', () => clearTimeout(timer));
  }

  #onBox(type: string, bytes: Buffer): void {
    switch (type) {
      case 'ftyp':
        this.#ftyp = bytes;
        return;
      case 'moov': {
        this.#init = this.#ftyp ? Buffer.concat([this.#ftyp, bytes]) : bytes;
        const facts = describeInit(bytes);
        this.#codec = facts.codec ?? 'avc1.42e01e';
        this.#trexFlags = facts.trexDefaultFlags;
        this.#gop = [];
        this.#gopBytes = 0;
        this.#backoffMs = 250;
        for (const v of this.#viewers) {
          if (v.socket.readyState !== OPEN) continue;
          v.waitingForKey = true;
          this.#sendInit(v);
        }
        return;
      }
      case 'moof':
        this.#moof = bytes;
        return;
      case 'mdat': {
        if (!this.#moof || !this.#init) return;
        const key = fragmentStartsWithKeyframe(this.#moof, this.#trexFlags);
        const fragment = Buffer.concat([this.#moof, bytes]);
        this.#moof = null;
        this.#keep(fragment, key);
        this.#fanOut(fragment, key);
        return;
      }
      default:
        return;
    }
  }

  #keep(fragment: Buffer, key: boolean): void {
    if (key) {
      this.#gop = [];
      this.#gopBytes = 0;
    } else if (this.#gop.length === 0) {
      return; // no keyframe seen yet (or the group grew too large): nothing a new viewer could decode
    }
    this.#gopBytes += fragment.length;
    if (this.#gopBytes > MAX_GOP_BYTES) {
      this.#gop = [];
      this.#gopBytes = 0;
      return;
    }
    this.#gop.push(fragment);
  }

  #fanOut(fragment: Buffer, key: boolean): void {
    const soft = this.#o.softLimitBytes ?? 1 << 20;
    const hard = this.#o.hardLimitBytes ?? 8 << 20;
    this.fragments += 1;
    for (const v of [...this.#viewers]) {
      if (v.socket.readyState !== OPEN) continue;
      const queued = v.socket.bufferedAmount;
      if (queued > hard) {
        this.#o.logger.info({ queued }, 'live relay: a viewer fell too far behind; dropped');
        v.socket.close(1013, 'too slow: reconnect');
        this.#remove(v);
        continue;
      }
      if (queued > soft) {
        v.waitingForKey = true;
        continue;
      }
      if (v.waitingForKey) {
        if (!key) continue;
        v.waitingForKey = false;
      }
      v.socket.send(fragment);
    }
  }
}
