import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, type CameraDetail, getCamera, validationIssues } from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { ErrorBox, errorMessage, Spinner } from '../components/ui.tsx';
import { navigate } from '../router.ts';

type ProbeResult =
  | { ok: true; stream: { width: number; height: number; codec: string; fps: number } }
  | { ok: false; problem: { code: string; message: string } };

type Field = 'id' | 'name' | 'input' | 'enabled';
type FieldErrors = Partial<Record<Field, string>>;

const testConnection = (input: string) =>
  api<ProbeResult>('/api/cameras/test', { method: 'POST', body: { input } });

/** Where a server issue belongs: `body.input` → `input`. */
function fieldOf(path: string): Field | null {
  const field = path.replace(/^body\.?/, '').split('.')[0];
  return field === 'id' || field === 'name' || field === 'input' || field === 'enabled' ? field : null;
}

/** Adds a camera (`id` null) or changes one; owners and admins only. */
export function CameraFormPage({ id }: { id: string | null }) {
  const { session } = useAuth();
  const editable = session?.role === 'owner' || session?.role === 'admin';
  const isNew = id === null;
  const [loaded, setLoaded] = useState<CameraDetail | null>(null);
  const [cameraId, setCameraId] = useState('');
  const [name, setName] = useState('');
  const [input, setInput] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState<'save' | 'delete' | null>(null);
  const [testing, setTesting] = useState(false);
  const [test, setTest] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    if (id === null) return;
    const ctrl = new AbortController();
    getCamera(id, ctrl.signal)
      .then((c) => {
        setLoaded(c);
        setName(c.name);
        setInput(c.input);
        setEnabled(c.enabled);
      })
      .catch((err) => {
        if (!ctrl.signal.aborted) setLoadError(errorMessage(err));
      });
    return () => ctrl.abort();
  }, [id]);

  /** On the edit page the input is shown redacted (`***`): unchanged, it is not sent again. */
  const inputChanged = isNew || input !== loaded?.input;

  async function onTest() {
    setTest(null);
    if (!inputChanged) {
      setTest({ ok: false, text: 'Type the full input (with its password) to test it.' });
      return;
    }
    setTesting(true);
    try {
      const r = await testConnection(input);
      setTest(
        r.ok
          ? { ok: true, text: `Connected: ${r.stream.width}×${r.stream.height} ${r.stream.codec}` }
          : { ok: false, text: `Could not connect (${r.problem.code}): ${r.problem.message}` },
      );
    } catch (err) {
      const issue = validationIssues(err)[0];
      setTest({ ok: false, text: issue ? issue.message : errorMessage(err) });
    } finally {
      setTesting(false);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy('save');
    setError(null);
    setFieldErrors({});
    try {
      if (isNew) {
        await api('/api/cameras', {
          method: 'POST',
          body: { id: cameraId, ...(name.trim() ? { name: name.trim() } : {}), input, enabled },
        });
        navigate(`/cameras/${encodeURIComponent(cameraId)}`);
      } else {
        await api(`/api/cameras/${encodeURIComponent(id)}`, {
          method: 'PATCH',
          body: { name: name.trim(), enabled, ...(inputChanged ? { input } : {}) },
        });
        navigate(`/cameras/${encodeURIComponent(id)}`);
      }
    } catch (err) {
      const errors: FieldErrors = {};
      for (const issue of validationIssues(err)) {
        const field = fieldOf(issue.path);
        if (field && !errors[field]) errors[field] = issue.message;
      }
      if (err instanceof ApiError && err.status === 409) errors.id = err.message;
      setFieldErrors(errors);
      if (Object.keys(errors).length === 0) setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  async function onDelete() {
    if (id === null || !window.confirm(`Remove the camera "${loaded?.name ?? id}"?`)) return;
    setBusy('delete');
    setError(null);
    try {
      await api(`/api/cameras/${encodeURIComponent(id)}`, { method: 'DELETE' });
      navigate('/cameras');
    } catch (err) {
      setError(errorMessage(err));
      setBusy(null);
    }
  }

  const back = isNew ? '#/cameras' : `#/cameras/${encodeURIComponent(id)}`;
  if (!editable)
    return (
      <main className="page">
        <a href={back} className="back">
          ← Back
        </a>
        <ErrorBox message="Only owners and admins can add or change cameras." />
      </main>
    );
  if (loadError)
    return (
      <main className="page">
        <a href="#/cameras" className="back">
          ← Cameras
        </a>
        <ErrorBox message={loadError} />
      </main>
    );
  if (!isNew && !loaded) return <Spinner label="Loading the camera…" />;

  const fieldError = (field: Field) =>
    fieldErrors[field] ? (
      <span className="error field-error" role="alert" data-testid={`error-${field}`}>
        {fieldErrors[field]}
      </span>
    ) : null;

  return (
    <main className="page">
      <a href={back} className="back">
        ← Back
      </a>
      <h1>{isNew ? 'Add a camera' : `Edit ${loaded?.name ?? id}`}</h1>
      {error ? <ErrorBox message={error} /> : null}
      <form className="card camera-form" onSubmit={(e) => void onSubmit(e)} noValidate>
        {isNew ? (
          <p>
            <label>
              Id
              <br />
              <input
                name="id"
                value={cameraId}
                onChange={(e) => setCameraId(e.target.value)}
                placeholder="front-door"
                required
                aria-invalid={fieldErrors.id ? true : undefined}
              />
            </label>{' '}
            {fieldError('id')}
            <br />
            <span className="muted small">Letters, digits and dashes; it cannot be changed later.</span>
          </p>
        ) : null}
        <p>
          <label>
            Name
            <br />
            <input
              name="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder={isNew ? 'Defaults to the id' : undefined}
              aria-invalid={fieldErrors.name ? true : undefined}
            />
          </label>{' '}
          {fieldError('name')}
        </p>
        <p>
          <label>
            Input
            <br />
            <input
              name="input"
              value={input}
              onChange={(e) => {
                setInput(e.target.value);
                setTest(null);
              }}
              placeholder="rtsp://user:password@192.168.1.10:554/stream"
              size={60}
              required
              autoComplete="off"
              spellCheck={false}
              aria-invalid={fieldErrors.input ? true : undefined}
            />
          </label>{' '}
          {fieldError('input')}
          <br />
          <span className="muted small">
            An rtsp(s)://, rtmp(s)://, http(s):// URL, an absolute file path or /dev/videoN.
            {isNew ? null : ' The password is shown as ***: leave it so to keep the current input.'}
          </span>
        </p>
        <p>
          <button type="button" onClick={() => void onTest()} disabled={testing || input.trim() === ''}>
            {testing ? 'Testing…' : 'Test connection'}
          </button>{' '}
          {testing ? <span className="muted">Trying the camera (up to 8 s)…</span> : null}
          {test ? (
            <strong
              data-testid="test-result"
              role="status"
              className={test.ok ? 'badge badge-online' : 'error'}
              data-ok={test.ok}
            >
              {test.text}
            </strong>
          ) : null}
        </p>
        <p>
          <label>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          </label>{' '}
          {fieldError('enabled')}
        </p>
        <p className="actions">
          <button type="submit" className="primary" disabled={busy !== null}>
            {busy === 'save' ? 'Saving…' : isNew ? 'Add camera' : 'Save'}
          </button>{' '}
          <a href={back}>Cancel</a>
          {isNew ? null : (
            <>
              {' '}
              <button
                type="button"
                className="danger"
                onClick={() => void onDelete()}
                disabled={busy !== null}
              >
                {busy === 'delete' ? 'Deleting…' : 'Delete camera'}
              </button>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
