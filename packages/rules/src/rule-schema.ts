import { cocoClasses, Id } from '@iceberg/contracts';
import { z } from 'zod';
import { findSelfIntersection, orientation, type Point, polygonArea } from './geometry.ts';
import { clockTimePattern, isTimeZone, weekDays } from './schedule.ts';

/**
 * What a user writes to make an alert: the API and the web app's rule editor validate it with
 * `parseRule`, and it is stored as JSON. Every object is strict (an unknown key is an error) and
 * every error names its field (`trigger.polygon[2]`), so the editor can show it next to the field.
 * Coordinates are normalised to the picture: x to the right, y downwards, 0..1 of width and height.
 */

/** Smallest zone area accepted (a millionth of the picture): anything smaller is a slip of the mouse. */
const MIN_ZONE_AREA = 1e-6;

const coordinate = (what: string) => z.number({ error: `${what} must be a number` });

/** [x, y] in 0..1 of the frame. */
export const RulePoint = z
  .tuple([coordinate('x'), coordinate('y')], { error: 'a point is [x, y]' })
  .refine(
    ([x, y]) => x >= 0 && x <= 1 && y >= 0 && y <= 1,
    'x and y must be within 0..1 (fractions of the picture width and height)',
  );

function isUnitPoint(p: unknown): p is Point {
  return (
    Array.isArray(p) &&
    p.length === 2 &&
    p.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)
  );
}

const polygon = z
  .array(RulePoint, { error: 'a zone polygon is a list of [x, y] points' })
  .min(3, 'a zone needs at least 3 points')
  .max(64, 'a zone has at most 64 points')
  .superRefine((points, ctx) => {
    // The points' own errors and the length's say what is wrong with those.
    if (points.length < 3 || !points.every(isUnitPoint)) return;
    const problem = polygonProblem(points);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });

/** What makes a closed outline unusable as a zone, or null when it is a simple polygon with an area. */
function polygonProblem(points: readonly Point[]): { message: string; path: number[] } | null {
  const n = points.length;
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % n]!;
    if (a[0] === b[0] && a[1] === b[1])
      return { path: [(i + 1) % n], message: `point ${(i + 1) % n} repeats point ${i}` };
  }
  if (points.every((p) => orientation(points[0]!, points[1]!, p) === 0))
    return { path: [], message: 'the zone has no area: its points lie on one line' };
  const crossing = findSelfIntersection(points);
  if (crossing) {
    const edge = (i: number) => `${i}–${(i + 1) % n}`;
    return {
      path: [],
      message: `the zone's edges ${edge(crossing.edgeA)} and ${edge(crossing.edgeB)} cross: its outline must not intersect itself`,
    };
  }
  if (polygonArea(points) < MIN_ZONE_AREA)
    return { path: [], message: 'the zone has no area: it is smaller than a millionth of the picture' };
  return null;
}

/** An area of the picture; fires on objects entering it, being inside it, or leaving it. */
export const ZoneTrigger = z
  .object({
    type: z.literal('zone'),
    polygon,
    on: z.enum(['enter', 'inside', 'leave'], { error: 'on must be "enter", "inside" or "leave"' }),
  })
  .strict();

/**
 * A tripwire: fires when an object's path crosses the segment from→to. Sides are as seen by
 * someone standing at `from` on the picture and looking towards `to`: for a line drawn from left
 * to right, its left side is above it; for a line drawn upwards, its left side is the picture's left.
 */
export const LineTrigger = z
  .object({
    type: z.literal('line'),
    from: RulePoint,
    to: RulePoint,
    direction: z.enum(['left-to-right', 'right-to-left', 'any'], {
      error: 'direction must be "left-to-right", "right-to-left" or "any"',
    }),
  })
  .strict()
  .superRefine((line, ctx) => {
    if (
      isUnitPoint(line.from) &&
      isUnitPoint(line.to) &&
      line.from[0] === line.to[0] &&
      line.from[1] === line.to[1]
    )
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'the line must end at a different point from where it starts',
      });
  });

/** Any matching object present anywhere in the picture. */
export const AnywhereTrigger = z.object({ type: z.literal('anywhere') }).strict();

export const RuleTrigger = z.discriminatedUnion('type', [ZoneTrigger, LineTrigger, AnywhereTrigger], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'trigger type must be "zone", "line" or "anywhere"' : undefined,
});
export type RuleTrigger = z.infer<typeof RuleTrigger>;

/** A daily window (wall clock of `timeZone`); `from` later than `to` crosses midnight. */
export const RuleSchedule = z
  .object({
    timeZone: z.string({ error: 'timeZone is required' }).refine(isTimeZone, {
      error: (issue) =>
        `unknown time zone ${JSON.stringify(issue.input)}: use an IANA name such as "Europe/London"`,
    }),
    days: z
      .array(z.enum(weekDays, { error: 'days are "mon", "tue", "wed", "thu", "fri", "sat" or "sun"' }))
      .min(1, 'choose at least one day')
      .superRefine((days, ctx) => duplicates(days, ctx, 'day')),
    from: z.string({ error: 'from is required' }).regex(clockTimePattern, 'use 24-hour HH:MM, e.g. "07:30"'),
    to: z.string({ error: 'to is required' }).regex(clockTimePattern, 'use 24-hour HH:MM, e.g. "18:00"'),
  })
  .strict();

const httpUrl = z.string().refine(
  (url) => {
    try {
      const { protocol } = new URL(url);
      return protocol === 'http:' || protocol === 'https:';
    } catch {
      return false;
    }
  },
  { error: 'the webhook URL must be an http:// or https:// URL' },
);

export const WebhookAction = z
  .object({
    type: z.literal('webhook'),
    url: httpUrl,
    /** Shared secret for signing the request body. */
    secret: z
      .string()
      .min(1, 'secret must not be empty')
      .max(256, 'secret is at most 256 characters')
      .optional(),
  })
  .strict();

export const EmailAction = z
  .object({
    type: z.literal('email'),
    to: z
      .array(z.email({ error: (issue) => `${JSON.stringify(issue.input)} is not an e-mail address` }))
      .min(1, 'give at least one address')
      .max(20, 'at most 20 addresses'),
  })
  .strict();

export const RuleAction = z.discriminatedUnion('type', [WebhookAction, EmailAction], {
  error: (issue) => (issue.code === 'invalid_union' ? 'action type must be "webhook" or "email"' : undefined),
});
export type RuleAction = z.infer<typeof RuleAction>;

function duplicates(values: readonly string[], ctx: z.RefinementCtx, what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v))
      ctx.addIssue({ code: 'custom', path: [i], message: `duplicate ${what} ${JSON.stringify(v)}` });
    seen.add(v);
  });
}

/** The rule a user writes (see the module comment). Parse it with `parseRule`. */
export const RuleSpec = z
  .object(
    {
      name: z
        .string({ error: 'name is required' })
        .trim()
        .min(1, 'name must not be empty')
        .max(120, 'name is at most 120 characters'),
      enabled: z.boolean().default(true),
      /** Camera ids the rule watches (the `cameraId` of `detection.v1`; never contain ':'). */
      cameras: z
        .array(Id, { error: 'cameras is a list of camera ids' })
        .min(1, 'choose at least one camera')
        .max(500, 'at most 500 cameras')
        .superRefine((ids, ctx) => duplicates(ids, ctx, 'camera')),
      /** COCO class names the rule is about. */
      classes: z
        .array(z.enum(cocoClasses, { error: (issue) => `unknown class ${JSON.stringify(issue.input)}` }), {
          error: 'classes is a list of class names',
        })
        .min(1, 'choose at least one class')
        .superRefine((names, ctx) => duplicates(names, ctx, 'class')),
      minScore: z.number().min(0, 'minScore is within 0..1').max(1, 'minScore is within 0..1').default(0.5),
      trigger: RuleTrigger,
      /**
       * Loitering: the object must have been inside the zone (or present, for `anywhere`) for this
       * many seconds without a break before the rule fires. Zone `inside` and `anywhere` only.
       */
      dwellSeconds: z
        .number()
        .min(0, 'dwellSeconds must be ≥ 0')
        .max(86_400, 'dwellSeconds is at most 86400 (a day)')
        .optional(),
      /** At least this many matching objects at once (in the zone / anywhere). Zone `inside` and `anywhere` only above 1. */
      minCount: z
        .number()
        .int('minCount is a whole number')
        .min(1, 'minCount is at least 1')
        .max(100, 'minCount is at most 100')
        .default(1),
      /** When the rule may fire; always when absent. */
      schedule: RuleSchedule.optional(),
      /**
       * After firing, stay quiet this long: per (rule, camera, track) for per-object rules, per
       * (rule, camera) for count rules (minCount > 1).
       */
      cooldownSeconds: z
        .number()
        .min(0, 'cooldownSeconds must be ≥ 0')
        .max(86_400, 'cooldownSeconds is at most 86400 (a day)')
        .default(60),
      actions: z.array(RuleAction).max(10, 'at most 10 actions').default([]),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'a rule is a JSON object' : undefined) },
  )
  .strict()
  .superRefine((rule, ctx) => {
    const trigger = rule.trigger as { type?: unknown; on?: unknown } | undefined;
    const levelTrigger =
      trigger?.type === 'anywhere' || (trigger?.type === 'zone' && trigger.on === 'inside');
    const described =
      trigger?.type === 'zone'
        ? `a zone "${String(trigger.on)}" trigger`
        : `a ${String(trigger?.type)} trigger`;
    if (trigger?.type === undefined || levelTrigger) return;
    if (rule.dwellSeconds !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['dwellSeconds'],
        message: `dwellSeconds applies to zone "inside" and "anywhere" triggers, not to ${described}`,
      });
    if (typeof rule.minCount === 'number' && rule.minCount > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['minCount'],
        message: `minCount above 1 applies to zone "inside" and "anywhere" triggers, not to ${described}`,
      });
  });

/** A rule as parsed (defaults filled in). */
export type RuleSpec = z.output<typeof RuleSpec>;
/** A rule as a user may write it (defaults optional). */
export type RuleSpecInput = z.input<typeof RuleSpec>;

/** A stored rule: the spec plus its id and, when set, the organisation whose events it may see. */
export type Rule = RuleSpec & {
  id: string;
  /** When set, events of other organisations never match the rule. */
  orgId?: string;
};

/** One problem, at a field path such as `trigger.polygon[2]` (empty for the rule as a whole). */
export interface RuleIssue {
  path: string;
  message: string;
}

export type ParseRuleResult = { ok: true; rule: RuleSpec } | { ok: false; errors: RuleIssue[] };

/** `['trigger', 'polygon', 2]` → `trigger.polygon[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Validates what a user wrote; never throws. */
export function parseRule(input: unknown): ParseRuleResult {
  const result = RuleSpec.safeParse(input);
  if (result.success) return { ok: true, rule: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
          : issue.message,
    })),
  };
}
