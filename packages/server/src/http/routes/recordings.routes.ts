import { createReadStream } from 'node:fs';
import { IcebergError } from '@iceberg/common';
import { hashToken } from '@iceberg/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { UrlSigner } from '../../auth/url-signer.ts';
import { LocalSegmentReader } from '../../recordings/segment-reader.ts';
import { RecordingService, recordingLimits } from '../../services/recording.service.ts';
import { authenticate, bearerToken, callerOf } from '../authenticate.ts';
import { ErrorBody, errorResponses, IdParam, Instant } from '../query-schemas.ts';

const Segment = z.object({
  segmentId: z.string(),
  startedAt: z.number().int().meta({ description: 'Wall-clock time of the first frame (epoch ms)' }),
  endedAt: z.number().int(),
  durationMs: z.number().int(),
  bytes: z.number().int(),
  reason: z.enum(['continuous', 'event']),
  codec: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
});

export const RecordingRange = z
  .object({
    cameraId: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    segments: z.array(Segment).meta({ description: 'Segments overlapping the range, oldest first' }),
    gaps: z.array(z.object({ from: z.number().int(), to: z.number().int() })).meta({
      description: 'Stretches of the range (up to now) with no recording: outages, restarts, pauses',
    }),
    totals: z.object({
      segments: z.number().int(),
      bytes: z.number().int(),
      recordedMs: z.number().int().meta({ description: 'Recorded time inside the range' }),
      gapMs: z.number().int(),
    }),
    playbackUrl: z.string().nullable().meta({
      description:
        'HLS VOD playlist of the range (signed: no header needed, e.g. for hls.js or ffplay); starts at `from`; null when nothing was recorded',
    }),
    exportUrl: z
      .string()
      .nullable()
      .meta({
        description: `The range as one MP4 download (signed); null when nothing was recorded or the range is longer than ${recordingLimits.maxExportMs / 60_000} minutes`,
      }),
    urlsExpireAt: z
      .number()
      .int()
      .meta({ description: 'When the two links stop working (ask again for new ones)' }),
  })
  .meta({ description: 'The recordings of one camera in a time range' });

const RangeQuery = z
  .object({
    from: Instant.optional().meta({ description: 'Start of the range (default: `to` minus one hour)' }),
    to: Instant.optional().meta({ description: 'End of the range (default: now)' }),
  })
  .strict();

const Token = z
  .string()
  .min(10)
  .max(2048)
  .regex(/^[A-Za-z0-9_.-]+$/, 'not a media link');
const TokenParams = z.object({ token: Token });
const PartParams = z.object({
  token: Token,
  segmentId: z.string().min(1).max(160),
  part: z.enum(['init.mp4', 'media.m4s']),
});

const mediaErrors = { 403: ErrorBody, 404: ErrorBody } as const;
const binary = (type: string, description: string) => ({
  description,
  content: { [type]: { schema: z.string().meta({ format: 'binary' }) } },
});

/**
 * Recordings: `GET /api/cameras/:id/recordings` (authenticated) lists a range and hands out
 * signed links; `GET /media/recordings/<token>/…` serves the HLS VOD playlist, its init and
 * media parts, and the MP4 export. The token is in the path so that the playlist's relative
 * URLs keep it; media routes need no header, and a bearer token sent along must be of the
 * link's organisation (else 403).
 */
export async function registerRecordingRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const recordings =
    deps.recordings ??
    new RecordingService({
      store: deps.store,
      reader: new LocalSegmentReader(deps.dataDir),
      signer: deps.mediaSigner ?? UrlSigner.random(),
      clock: deps.clock,
      logger: deps.logger,
      ffmpegPath: deps.ffmpegPath ?? 'ffmpeg',
    });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);

  /** The organisation of a bearer token sent with a media request, if any (a bad one is 401). */
  const callerOrg = async (req: FastifyRequest): Promise<string | undefined> => {
    if (!req.headers.authorization) return undefined;
    const token = bearerToken(req);
    const session = token
      ? await deps.store.sessions.findValidByHash(hashToken(token), deps.clock.now())
      : undefined;
    if (!session)
      throw new IcebergError(
        'ICEBERG_ERR_UNAUTHENTICATED',
        'the token is not valid or has expired: log in again',
      );
    return session.orgId;
  };

  r.get(
    '/api/cameras/:id/recordings',
    {
      onRequest: auth,
      schema: {
        summary: 'List recordings of a camera',
        description: `Segments of the camera overlapping [from, to), the gaps between them, totals, and signed links to play the range (HLS VOD with real timestamps) and to download it as one MP4. A range is at most ${recordingLimits.maxRangeMs / 3_600_000} hours; links work for ${recordingLimits.urlTtlMs / 3_600_000} hours.`,
        tags: ['recordings'],
        security: [{ bearer: [] }],
        params: z.object({ id: IdParam }),
        querystring: RangeQuery,
        response: { 200: RecordingRange, ...errorResponses },
      },
    },
    async (req) => {
      const to = req.query.to ?? deps.clock.now();
      const from = req.query.from ?? to - 3_600_000;
      return recordings.list(callerOf(req).orgId, req.params.id, from, to);
    },
  );

  r.get(
    '/media/recordings/:token/playlist.m3u8',
    {
      schema: {
        summary: 'Play a recorded range (HLS VOD)',
        description:
          'The HLS VOD playlist of the link’s range: one entry per segment with `#EXT-X-PROGRAM-DATE-TIME` (real time), `#EXT-X-MAP` (its init part) and `#EXT-X-DISCONTINUITY` at gaps and restarts. Signed link from `GET /api/cameras/{id}/recordings`.',
        tags: ['recordings'],
        params: TokenParams,
        response: { 200: binary('application/vnd.apple.mpegurl', 'The playlist'), ...mediaErrors },
      },
    },
    async (req, reply) => {
      const text = await recordings.playlist(req.params.token, await callerOrg(req));
      return reply
        .header('content-type', 'application/vnd.apple.mpegurl')
        .header('cache-control', 'private, no-cache')
        .send(text);
    },
  );

  r.get(
    '/media/recordings/:token/seg/:segmentId/:part',
    {
      schema: {
        summary: 'A part of a recorded segment',
        description:
          '`init.mp4` (ftyp + moov) or `media.m4s` (its moof/mdat fragments), as named by the playlist.',
        tags: ['recordings'],
        params: PartParams,
        response: { 200: binary('video/mp4', 'The bytes'), ...mediaErrors },
      },
    },
    async (req, reply) => {
      const part = req.params.part === 'init.mp4' ? 'init' : 'media';
      const { stream, length } = await recordings.segmentPart(
        req.params.token,
        req.params.segmentId,
        part,
        await callerOrg(req),
      );
      return reply
        .header('content-type', part === 'init' ? 'video/mp4' : 'video/iso.segment')
        .header('content-length', String(length))
        .header('cache-control', 'private, max-age=3600')
        .send(stream as never); // bytes, not a serialised schema
    },
  );

  r.get(
    '/media/recordings/:token/export.mp4',
    {
      schema: {
        summary: 'Download a recorded range as one MP4',
        description: `The link’s range joined into one MP4 (stream copy, no re-encoding; starts at the keyframe at or before \`from\`; gaps are left out), index first so it plays while downloading. At most ${recordingLimits.maxExportMs / 60_000} minutes; ${recordingLimits.maxConcurrentExports} exports at once (429 otherwise).`,
        tags: ['recordings'],
        params: TokenParams,
        response: {
          200: binary('video/mp4', 'The MP4 file (Content-Disposition: attachment)'),
          400: ErrorBody,
          429: ErrorBody,
          ...mediaErrors,
        },
      },
    },
    async (req, reply) => {
      const clip = await recordings.export(req.params.token, await callerOrg(req));
      const stream = createReadStream(clip.path);
      stream.once('close', () => void clip.cleanup());
      return reply
        .header('content-type', 'video/mp4')
        .header('content-length', String(clip.length))
        .header('content-disposition', `attachment; filename="${clip.filename}"`)
        .header('cache-control', 'private, no-store')
        .send(stream as never);
    },
  );
}
