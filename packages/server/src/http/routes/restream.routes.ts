import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import websocket from '@fastify/websocket';
import { IcebergError } from '@iceberg/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import type { NginxRestreamer } from '../../live/nginx-restreamer.ts';
import type { StreamRef } from '../../live/restreamer.ts';
import { authenticate } from '../authenticate.ts';
import { ErrorBody } from '../query-schemas.ts';
import { websocketOnly } from '../websocket-only.ts';

/**
 * Live media under signed URLs (the token, from `POST /api/cameras/:id/live`, is in the path so
 * that the playlist's relative segment URIs keep it):
 * - `GET /live/hls/<token>/index.m3u8` and `GET /live/hls/<token>/<n>.ts`: nginx's HLS output;
 * - `GET /live/ws/<token>`: fMP4 over WebSocket for low latency (see Fmp4Relay).
 * A bad, expired or forged token, or a caller authenticated as another organisation, gets 403;
 * a stream that has ended gets 404; live view without nginx gets 503 with the reason.
 */
const Token = z
  .string()
  .min(10)
  .max(2048)
  .regex(/^[A-Za-z0-9._-]+$/, 'a media token');
const TokenParams = z.object({ token: Token });
const SegmentParams = z.object({
  token: Token,
  segment: z.string().regex(/^\d{1,12}\.ts$/, 'a segment name like 12.ts'),
});

const playlistResponse = {
  description: 'The HLS live playlist (never cached)',
  content: { 'application/vnd.apple.mpegurl': { schema: z.string() } },
};
const segmentResponse = {
  description: 'An MPEG-TS segment',
  content: { 'video/mp2t': { schema: z.string().meta({ format: 'binary' }) } },
};

function sendPlaylist(reply: FastifyReply, text: string): FastifyReply {
  return reply
    .header('content-type', 'application/vnd.apple.mpegurl')
    .header('cache-control', 'no-store')
    .send(text);
}

function sendSegment(reply: FastifyReply, file: string, size: number): FastifyReply {
  return reply
    .header('content-type', 'video/mp2t')
    .header('content-length', size)
    .header('cache-control', 'private, max-age=60')
    .send(createReadStream(file));
}

/** How long the playlist request waits for nginx's first segment of a stream that was just opened. */
const PLAYLIST_WAIT_MS = 8000;

export async function registerRestreamRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'restream' | 'clock'> & { store?: ApiDeps['store'] },
): Promise<void> {
  // The standalone re-streaming server (`iceberg restream`) has no users: the signed URL alone decides.
  const auth = deps.store ? authenticate({ store: deps.store, clock: deps.clock }) : null;
  const restreamer = (): NginxRestreamer => {
    const r = deps.restream;
    if (!r)
      throw new IcebergError(
        'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
        'live view is not configured on this server',
      );
    const reason = r.unavailableReason;
    if (reason) throw new IcebergError('ICEBERG_ERR_RESTREAM_UNAVAILABLE', reason);
    return r;
  };
  /** The stream of a token; a caller who sent a bearer token must belong to the token's organisation. */
  const streamOf = async (req: FastifyRequest, reply: FastifyReply, token: string): Promise<StreamRef> => {
    const r = restreamer();
    let callerOrgId: string | undefined;
    if (req.headers.authorization && auth) {
      await auth(req, reply);
      callerOrgId = req.caller?.orgId;
    }
    return r.resolvePlayback(token, callerOrgId);
  };

  await app.register(async (scope) => {
    // buildApi registers the WebSocket plugin once for every route; alone (`iceberg restream`), here.
    if (!scope.hasDecorator('websocketServer'))
      await scope.register(websocket, { options: { maxPayload: 4096 } });
    const typed = scope.withTypeProvider<ZodTypeProvider>();
    typed.get(
      '/live/hls/:token/index.m3u8',
      {
        schema: {
          summary: 'Live HLS playlist (signed URL)',
          description:
            'The live playlist of a stream, from the `playback.hls` URL of `POST /api/cameras/:id/live`. The token in the path is the authorisation; it expires (ask the session API again for a fresh one). Waits up to 8 s for the first segment of a stream that has just started.',
          tags: ['live'],
          params: TokenParams,
          response: { 200: playlistResponse, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        },
      },
      async (req, reply) => {
        const stream = await streamOf(req, reply, req.params.token);
        const file = join(restreamer().hlsFolder(stream.streamId), 'index.m3u8');
        const deadline = Date.now() + PLAYLIST_WAIT_MS;
        let text: string | null = null;
        while (text === null) {
          text = await readFile(file, 'utf8').catch(() => null);
          if (text !== null || Date.now() > deadline || req.raw.destroyed) break;
          await new Promise((r) => setTimeout(r, 200));
          restreamer().resolvePlayback(req.params.token);
        }
        if (text === null)
          throw new IcebergError(
            'ICEBERG_ERR_NOT_FOUND',
            'the live stream has not started yet: try again shortly',
          );
        return sendPlaylist(reply, text);
      },
    );
    typed.get(
      '/live/hls/:token/:segment',
      {
        schema: {
          summary: 'Live HLS segment (signed URL)',
          tags: ['live'],
          params: SegmentParams,
          response: { 200: segmentResponse, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        },
      },
      async (req, reply) => {
        const stream = await streamOf(req, reply, req.params.token);
        const file = join(restreamer().hlsFolder(stream.streamId), req.params.segment);
        const info = await stat(file).catch(() => null);
        if (!info?.isFile())
          throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'no such segment (it may have expired)');
        return sendSegment(reply, file, info.size);
      },
    );
    typed.route({
      method: 'GET',
      url: '/live/ws/:token',
      schema: {
        summary: 'Low-latency live video (WebSocket, signed URL)',
        description:
          'Upgrade to a WebSocket at the `playback.ws` URL of `POST /api/cameras/:id/live`. The server sends a text frame `{"type":"init","codec":"avc1.…"}`, then binary frames: the fMP4 init segment, then one fragment (moof+mdat) per video frame starting at a keyframe — append them to a Media Source Extensions SourceBuffer. A viewer that falls behind skips to the next keyframe. A plain GET answers 426.',
        tags: ['live'],
        params: TokenParams,
        response: { 403: ErrorBody, 404: ErrorBody, 426: ErrorBody, 503: ErrorBody },
      },
      // Checked before the upgrade: a bad token is a plain 403, never a WebSocket.
      preHandler: async (req, reply) => {
        await streamOf(req, reply, (req.params as { token: string }).token);
      },
      handler: websocketOnly,
      wsHandler: (socket, req) => {
        let stream: StreamRef;
        try {
          stream = restreamer().resolvePlayback(req.params.token);
        } catch (err) {
          socket.close(1008, (err as Error).message.slice(0, 120));
          return;
        }
        const leave = restreamer().relay(stream.streamId).add(socket);
        socket.on('close', leave);
        socket.on('error', leave);
        socket.on('message', () => undefined);
      },
    });
  });
}
