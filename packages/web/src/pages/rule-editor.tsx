import { type FormEvent, type MouseEvent, type ReactNode, useEffect, useState } from 'react';
import {
  type Camera,
  createRule,
  getRule,
  listCameras,
  listEvents,
  type ObjectClass,
  type RuleAction,
  type RuleSpec,
  type RuleTrigger,
  updateRule,
  validationIssues,
  type Weekday,
} from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { AuthImage } from '../components/auth-image.tsx';
import { ErrorBox, errorMessage, Spinner } from '../components/ui.tsx';
import { navigate } from '../router.ts';
import { canEditRules } from './rules.tsx';

const RULE_CLASSES: readonly ObjectClass[] = ['person', 'car', 'truck', 'bus', 'bicycle', 'motorcycle'];
const DAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** The overlay's own coordinate space: 16:9 like the snapshot box, so nothing is distorted. */
const VW = 1600;
const VH = 900;

type Point = [number, number];
type TriggerType = RuleTrigger['type'];
type ZoneOn = Extract<RuleTrigger, { type: 'zone' }>['on'];
type LineDirection = Extract<RuleTrigger, { type: 'line' }>['direction'];

/** The fields a server issue can be shown beside (`field-error-<field>`). */
type Field =
  | 'name'
  | 'cameras'
  | 'classes'
  | 'minScore'
  | 'trigger'
  | 'dwellSeconds'
  | 'minCount'
  | 'schedule'
  | 'cooldownSeconds'
  | 'webhook'
  | 'email';
const TOP_FIELDS: readonly Field[] = [
  'name',
  'cameras',
  'classes',
  'minScore',
  'trigger',
  'dwellSeconds',
  'minCount',
  'schedule',
  'cooldownSeconds',
];

/** Maps an issue path such as `trigger.polygon[2]` or `actions[0].url` to its field, if it has one. */
export function fieldOfPath(path: string, actions: readonly RuleAction[]): Field | null {
  const head = path.split(/[.[]/)[0] ?? '';
  if ((TOP_FIELDS as readonly string[]).includes(head)) return head as Field;
  if (head === 'actions') {
    const m = /^actions\[(\d+)\]/.exec(path);
    const action = m ? actions[Number(m[1])] : undefined;
    return action ? action.type : null;
  }
  return null;
}

const round = (n: number) => Math.round(Math.min(1, Math.max(0, n)) * 10_000) / 10_000;

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function numberOrUndefined(s: string): number | undefined {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : Number.NaN;
}

export function RuleEditorPage({ id }: { id: string | null }) {
  const { session } = useAuth();
  if (!canEditRules(session?.role))
    return (
      <main className="page">
        <p>
          <a href="#/rules" className="back">
            ← All rules
          </a>
        </p>
        <p className="card empty muted" data-testid="rules-forbidden">
          Only owners and admins can edit rules.
        </p>
      </main>
    );
  return <RuleEditor id={id} />;
}

function RuleEditor({ id }: { id: string | null }) {
  const [cameras, setCameras] = useState<Camera[] | null>(null);
  const [loaded, setLoaded] = useState(id === null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [snapshotUrl, setSnapshotUrl] = useState<string | null>(null);

  const [name, setName] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [cameraId, setCameraId] = useState('');
  const [classes, setClasses] = useState<ObjectClass[]>(['person']);
  const [minScore, setMinScore] = useState('0.5');
  const [triggerType, setTriggerType] = useState<TriggerType>('zone');
  const [polygon, setPolygon] = useState<Point[]>([]);
  const [zoneOn, setZoneOn] = useState<ZoneOn>('enter');
  const [lineFrom, setLineFrom] = useState<Point | null>(null);
  const [lineTo, setLineTo] = useState<Point | null>(null);
  const [direction, setDirection] = useState<LineDirection>('any');
  const [dwell, setDwell] = useState('');
  const [minCount, setMinCount] = useState('1');
  const [scheduleOn, setScheduleOn] = useState(false);
  const [days, setDays] = useState<Weekday[]>([...DAYS]);
  const [from, setFrom] = useState('08:00');
  const [to, setTo] = useState('18:00');
  const [timeZone, setTimeZone] = useState(browserTimeZone);
  const [cooldown, setCooldown] = useState('60');
  const [webhookUrl, setWebhookUrl] = useState('');
  const [webhookSecret, setWebhookSecret] = useState('');
  const [emails, setEmails] = useState('');

  const [saving, setSaving] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<Field, string[]>>>({});
  const [generalErrors, setGeneralErrors] = useState<string[]>([]);

  useEffect(() => {
    const ctrl = new AbortController();
    listCameras(ctrl.signal)
      .then((r) => {
        setCameras(r.items);
        setCameraId((c) => c || (id === null ? (r.items[0]?.id ?? '') : c));
      })
      .catch((err) => {
        if (!ctrl.signal.aborted) setLoadError(errorMessage(err));
      });
    if (id !== null)
      getRule(id, ctrl.signal)
        .then((rule) => {
          const s = rule.spec;
          setName(s.name);
          setEnabled(rule.enabled);
          setCameraId(s.cameras[0] ?? '');
          setClasses(s.classes);
          setMinScore(String(s.minScore));
          setTriggerType(s.trigger.type);
          if (s.trigger.type === 'zone') {
            setPolygon(s.trigger.polygon);
            setZoneOn(s.trigger.on);
          } else if (s.trigger.type === 'line') {
            setLineFrom(s.trigger.from);
            setLineTo(s.trigger.to);
            setDirection(s.trigger.direction);
          }
          setDwell(s.dwellSeconds !== undefined ? String(s.dwellSeconds) : '');
          setMinCount(String(s.minCount));
          if (s.schedule) {
            setScheduleOn(true);
            setDays(s.schedule.days);
            setFrom(s.schedule.from);
            setTo(s.schedule.to);
            setTimeZone(s.schedule.timeZone);
          }
          setCooldown(String(s.cooldownSeconds));
          for (const a of s.actions) {
            if (a.type === 'webhook') {
              setWebhookUrl(a.url);
              setWebhookSecret(a.secret ?? '');
            } else setEmails(a.to.join(', '));
          }
          setLoaded(true);
        })
        .catch((err) => {
          if (!ctrl.signal.aborted) setLoadError(errorMessage(err));
        });
    return () => ctrl.abort();
  }, [id]);

  useEffect(() => {
    setSnapshotUrl(null);
    if (!cameraId) return;
    const ctrl = new AbortController();
    listEvents({ cameraId, limit: '20' }, ctrl.signal)
      .then((r) => setSnapshotUrl(r.items.find((e) => e.snapshotUrl)?.snapshotUrl ?? null))
      .catch(() => undefined);
    return () => ctrl.abort();
  }, [cameraId]);

  function actions(): RuleAction[] {
    const out: RuleAction[] = [];
    if (webhookUrl.trim())
      out.push({
        type: 'webhook',
        url: webhookUrl.trim(),
        ...(webhookSecret ? { secret: webhookSecret } : {}),
      });
    const to = emails
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    if (to.length > 0) out.push({ type: 'email', to });
    return out;
  }

  function buildSpec(): RuleSpec {
    const trigger: RuleTrigger =
      triggerType === 'zone'
        ? { type: 'zone', polygon, on: zoneOn }
        : triggerType === 'line'
          ? { type: 'line', from: lineFrom ?? [0, 0], to: lineTo ?? lineFrom ?? [0, 0], direction }
          : { type: 'anywhere' };
    const dwellSeconds = numberOrUndefined(dwell);
    return {
      name: name.trim(),
      enabled,
      cameras: cameraId ? [cameraId] : [],
      classes,
      minScore: numberOrUndefined(minScore) ?? 0.5,
      trigger,
      ...(dwellSeconds !== undefined ? { dwellSeconds } : {}),
      minCount: numberOrUndefined(minCount) ?? 1,
      ...(scheduleOn ? { schedule: { timeZone: timeZone.trim(), days, from, to } } : {}),
      cooldownSeconds: numberOrUndefined(cooldown) ?? 60,
      actions: actions(),
    };
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    setSaving(true);
    setFieldErrors({});
    setGeneralErrors([]);
    const spec = buildSpec();
    // a line needs both ends: say so here rather than sending a point-sized line
    if (triggerType === 'line' && (!lineFrom || !lineTo)) {
      setFieldErrors({ trigger: ['Click twice on the picture to set both ends of the line.'] });
      setSaving(false);
      return;
    }
    try {
      if (id === null) await createRule(spec);
      else await updateRule(id, spec);
      navigate('/rules');
    } catch (err) {
      const issues = validationIssues(err);
      if (issues.length === 0) setGeneralErrors([errorMessage(err)]);
      else {
        const byField: Partial<Record<Field, string[]>> = {};
        const general: string[] = [];
        for (const issue of issues) {
          const f = fieldOfPath(issue.path, spec.actions ?? []);
          if (f) byField[f] = [...(byField[f] ?? []), issue.message];
          else general.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
        }
        setFieldErrors(byField);
        setGeneralErrors(general);
      }
    } finally {
      setSaving(false);
    }
  }

  function onCanvasClick(e: MouseEvent<SVGSVGElement>) {
    if (triggerType === 'anywhere') return;
    const box = e.currentTarget.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return;
    const p: Point = [round((e.clientX - box.left) / box.width), round((e.clientY - box.top) / box.height)];
    if (triggerType === 'zone') setPolygon((ps) => [...ps, p]);
    else if (!lineFrom || lineTo) {
      setLineFrom(p);
      setLineTo(null);
    } else setLineTo(p);
  }

  function clearDrawing() {
    setPolygon([]);
    setLineFrom(null);
    setLineTo(null);
  }

  const err = (f: Field) => fieldErrors[f];

  if (loadError)
    return (
      <main className="page">
        <ErrorBox message={loadError} />
      </main>
    );
  if (!loaded || !cameras) return <Spinner />;

  return (
    <main className="page">
      <p>
        <a href="#/rules" className="back">
          ← All rules
        </a>
      </p>
      <h1>{id === null ? 'New rule' : `Edit rule ${name}`}</h1>
      <form className="rule-editor" onSubmit={(e) => void save(e)} noValidate>
        {generalErrors.length > 0 ? (
          <div className="error" role="alert" data-testid="rule-errors">
            {generalErrors.map((m) => (
              <div key={m}>{m}</div>
            ))}
          </div>
        ) : null}
        <div className="rule-grid">
          <section className="card rule-drawing" aria-label="Trigger area">
            <div className="rule-stage">
              {snapshotUrl ? (
                <AuthImage src={snapshotUrl} alt="Latest snapshot" className="large" />
              ) : (
                <div className="snapshot large snapshot-placeholder" />
              )}
              {/* biome-ignore lint/a11y/useKeyWithClickEvents: drawing is by pointer; the fields beside it are the keyboard path */}
              <svg
                className="rule-canvas"
                data-testid="rule-canvas"
                viewBox={`0 0 ${VW} ${VH}`}
                preserveAspectRatio="none"
                onClick={onCanvasClick}
                role="img"
                aria-label={
                  triggerType === 'zone'
                    ? `Zone with ${polygon.length} points; click to add a point`
                    : triggerType === 'line'
                      ? 'Line; click twice to set its ends'
                      : 'Anywhere in the picture'
                }
              >
                <Drawing
                  type={triggerType}
                  polygon={polygon}
                  from={lineFrom}
                  to={lineTo}
                  direction={direction}
                />
              </svg>
            </div>
            <div className="rule-drawing-bar">
              <span className="muted small">
                {triggerType === 'zone'
                  ? `Click to add points (${polygon.length}).`
                  : triggerType === 'line'
                    ? 'Click twice: where the line starts, then where it ends.'
                    : 'The whole picture triggers.'}
              </span>
              <button type="button" onClick={clearDrawing} disabled={triggerType === 'anywhere'}>
                Clear
              </button>
            </div>
            <FieldError field="trigger" messages={err('trigger')} />
          </section>

          <div className="rule-fields">
            <Labelled label="Name" field="name" messages={err('name')}>
              <input value={name} onChange={(e) => setName(e.target.value)} />
            </Labelled>
            <label className="check">
              <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />{' '}
              Enabled
            </label>
            <Labelled label="Camera" field="cameras" messages={err('cameras')}>
              <select
                value={cameraId}
                onChange={(e) => setCameraId(e.target.value)}
                data-testid="rule-camera"
              >
                {cameraId === '' ? <option value="">Choose a camera</option> : null}
                {cameras.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({c.id})
                  </option>
                ))}
              </select>
            </Labelled>
            <fieldset>
              <legend>Classes</legend>
              <div className="checks">
                {RULE_CLASSES.map((c) => (
                  <label key={c} className="check">
                    <input
                      type="checkbox"
                      checked={classes.includes(c)}
                      onChange={(e) =>
                        setClasses((cs) => (e.target.checked ? [...cs, c] : cs.filter((x) => x !== c)))
                      }
                    />{' '}
                    {c}
                  </label>
                ))}
              </div>
              <FieldError field="classes" messages={err('classes')} />
            </fieldset>
            <Labelled label="Minimum score (0–1)" field="minScore" messages={err('minScore')}>
              <input
                type="number"
                min={0}
                max={1}
                step={0.05}
                value={minScore}
                onChange={(e) => setMinScore(e.target.value)}
              />
            </Labelled>
            <fieldset>
              <legend>Trigger</legend>
              <div className="segmented">
                {(['zone', 'line', 'anywhere'] as const).map((t) => (
                  <button
                    key={t}
                    type="button"
                    className={triggerType === t ? 'active' : undefined}
                    aria-pressed={triggerType === t}
                    onClick={() => setTriggerType(t)}
                  >
                    {t === 'zone' ? 'Zone' : t === 'line' ? 'Line' : 'Anywhere'}
                  </button>
                ))}
              </div>
              {triggerType === 'zone' ? (
                <label>
                  Zone event{' '}
                  <select value={zoneOn} onChange={(e) => setZoneOn(e.target.value as ZoneOn)}>
                    <option value="enter">enter</option>
                    <option value="inside">inside</option>
                    <option value="leave">leave</option>
                  </select>
                </label>
              ) : null}
              {triggerType === 'line' ? (
                <label>
                  Line direction{' '}
                  <select value={direction} onChange={(e) => setDirection(e.target.value as LineDirection)}>
                    <option value="any">any</option>
                    <option value="left-to-right">left to right</option>
                    <option value="right-to-left">right to left</option>
                  </select>
                </label>
              ) : null}
            </fieldset>
            <div className="row">
              <Labelled label="Dwell seconds" field="dwellSeconds" messages={err('dwellSeconds')}>
                <input type="number" min={0} value={dwell} onChange={(e) => setDwell(e.target.value)} />
              </Labelled>
              <Labelled label="Minimum count" field="minCount" messages={err('minCount')}>
                <input type="number" min={1} value={minCount} onChange={(e) => setMinCount(e.target.value)} />
              </Labelled>
              <Labelled label="Cooldown seconds" field="cooldownSeconds" messages={err('cooldownSeconds')}>
                <input type="number" min={0} value={cooldown} onChange={(e) => setCooldown(e.target.value)} />
              </Labelled>
            </div>
            <fieldset>
              <legend>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={scheduleOn}
                    onChange={(e) => setScheduleOn(e.target.checked)}
                  />{' '}
                  Only on a schedule
                </label>
              </legend>
              {scheduleOn ? (
                <>
                  <div className="checks">
                    {DAYS.map((d) => (
                      <label key={d} className="check">
                        <input
                          type="checkbox"
                          checked={days.includes(d)}
                          onChange={(e) =>
                            setDays((ds) =>
                              e.target.checked
                                ? DAYS.filter((x) => x === d || ds.includes(x))
                                : ds.filter((x) => x !== d),
                            )
                          }
                        />{' '}
                        {d}
                      </label>
                    ))}
                  </div>
                  <div className="row">
                    <label>
                      From <input type="time" value={from} onChange={(e) => setFrom(e.target.value)} />
                    </label>
                    <label>
                      To <input type="time" value={to} onChange={(e) => setTo(e.target.value)} />
                    </label>
                    <label>
                      Time zone <input value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
                    </label>
                  </div>
                </>
              ) : null}
              <FieldError field="schedule" messages={err('schedule')} />
            </fieldset>
            <fieldset>
              <legend>Actions</legend>
              <Labelled label="Webhook URL" field="webhook" messages={err('webhook')}>
                <input
                  type="url"
                  value={webhookUrl}
                  placeholder="https://…"
                  onChange={(e) => setWebhookUrl(e.target.value)}
                />
              </Labelled>
              <label className="stack">
                Webhook secret (optional)
                <input
                  type="password"
                  value={webhookSecret}
                  onChange={(e) => setWebhookSecret(e.target.value)}
                />
              </label>
              <Labelled label="E-mail addresses (comma-separated)" field="email" messages={err('email')}>
                <input value={emails} onChange={(e) => setEmails(e.target.value)} />
              </Labelled>
            </fieldset>
            <div className="actions">
              <button type="submit" className="primary" disabled={saving}>
                {saving ? 'Saving…' : 'Save rule'}
              </button>
              <a href="#/rules">Cancel</a>
            </div>
          </div>
        </div>
      </form>
    </main>
  );
}

function Labelled({
  label,
  field,
  messages,
  children,
}: {
  label: string;
  field: Field;
  messages: string[] | undefined;
  children: ReactNode;
}) {
  return (
    <div className="field">
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the children, inside the label */}
      <label className="stack">
        {label}
        {children}
      </label>
      <FieldError field={field} messages={messages} />
    </div>
  );
}

function FieldError({ field, messages }: { field: Field; messages: string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <p className="field-error" data-testid={`field-error-${field}`}>
      {messages.join(' ')}
    </p>
  );
}

function Drawing({
  type,
  polygon,
  from,
  to,
  direction,
}: {
  type: TriggerType;
  polygon: Point[];
  from: Point | null;
  to: Point | null;
  direction: LineDirection;
}) {
  const px = (p: Point) => [p[0] * VW, p[1] * VH] as const;
  if (type === 'anywhere') return <rect className="zone" x={0} y={0} width={VW} height={VH} />;
  if (type === 'zone')
    return (
      <g>
        {polygon.length >= 2 ? (
          <polygon className="zone" points={polygon.map((p) => px(p).join(',')).join(' ')} />
        ) : null}
        {polygon.map((p, i) => {
          const [x, y] = px(p);
          // biome-ignore lint/suspicious/noArrayIndexKey: points are only ever appended
          return <circle key={i} className="vertex" cx={x} cy={y} r={9} />;
        })}
      </g>
    );
  const markers = (
    <defs>
      <marker
        id="rule-arrow"
        viewBox="0 0 10 10"
        refX="8"
        refY="5"
        markerWidth="5"
        markerHeight="5"
        orient="auto-start-reverse"
      >
        <path d="M0,0 L10,5 L0,10 z" className="arrow-head" />
      </marker>
    </defs>
  );
  if (!from) return markers;
  const [x1, y1] = px(from);
  if (!to)
    return (
      <g>
        {markers}
        <circle className="vertex" cx={x1} cy={y1} r={9} />
      </g>
    );
  const [x2, y2] = px(to);
  const len = Math.hypot(x2 - x1, y2 - y1) || 1;
  // right-hand normal of from→to on screen (y grows downwards): crossing left-to-right goes this way
  const nx = -(y2 - y1) / len;
  const ny = (x2 - x1) / len;
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  const a = 70;
  const sign = direction === 'right-to-left' ? -1 : 1;
  return (
    <g>
      {markers}
      <line className="trip-line" x1={x1} y1={y1} x2={x2} y2={y2} />
      <circle className="vertex" cx={x1} cy={y1} r={9} />
      <circle className="vertex" cx={x2} cy={y2} r={9} />
      <line
        className="direction-arrow"
        data-testid="rule-direction-arrow"
        x1={mx - sign * nx * a}
        y1={my - sign * ny * a}
        x2={mx + sign * nx * a}
        y2={my + sign * ny * a}
        markerEnd="url(#rule-arrow)"
        markerStart={direction === 'any' ? 'url(#rule-arrow)' : undefined}
      />
    </g>
  );
}
