import { useState } from 'react';
import { deleteRule, listRules, type Rule, setRuleEnabled } from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { ErrorBox, errorMessage, Spinner } from '../components/ui.tsx';
import { useLoaded } from '../components/use-loaded.ts';
import { navigate } from '../router.ts';

/** Owners and admins change rules; viewers only look. */
export function canEditRules(role: string | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

export function RulesPage() {
  const { session } = useAuth();
  const editable = canEditRules(session?.role);
  const {
    value: rules,
    setValue: setRules,
    error,
    setError,
  } = useLoaded((signal) => listRules(signal).then((r) => r.items));
  const [busy, setBusy] = useState<string | null>(null);

  async function toggle(rule: Rule) {
    setBusy(rule.id);
    setError(null);
    try {
      const updated = await setRuleEnabled(rule.id, !rule.enabled);
      setRules((rs) => rs?.map((r) => (r.id === rule.id ? updated : r)) ?? rs);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  async function remove(rule: Rule) {
    if (!window.confirm(`Delete the rule “${rule.name}”?`)) return;
    setBusy(rule.id);
    setError(null);
    try {
      await deleteRule(rule.id);
      setRules((rs) => rs?.filter((r) => r.id !== rule.id) ?? rs);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <main className="page">
      <div className="toolbar">
        <h1>Rules</h1>
        {editable ? (
          <button type="button" className="primary" onClick={() => navigate('/rules/new')}>
            New rule
          </button>
        ) : null}
      </div>
      {error ? <ErrorBox message={error} /> : null}
      {!rules && !error ? <Spinner label="Loading rules…" /> : null}
      {rules && rules.length === 0 ? <p className="card empty muted">No rules yet.</p> : null}
      {rules && rules.length > 0 ? (
        <ul className="rule-list">
          {rules.map((r) => (
            <li key={r.id} className="card rule-item" data-testid="rule-item" data-rule-id={r.id}>
              <div className="rule-body">
                <strong className="rule-name">{r.name}</strong>
                <div className="muted small">
                  {r.spec.cameras.join(', ') || 'no camera'} · {r.spec.trigger.type}
                  {r.spec.classes.length > 0 ? ` · ${r.spec.classes.join(', ')}` : ''}
                </div>
              </div>
              <div className="actions">
                <label className="switch">
                  <input
                    type="checkbox"
                    checked={r.enabled}
                    disabled={!editable || busy === r.id}
                    onChange={() => void toggle(r)}
                    data-testid="rule-enabled"
                  />{' '}
                  Enabled
                </label>
                {editable ? (
                  <>
                    <a href={`#/rules/${encodeURIComponent(r.id)}`} className="button-link">
                      Edit
                    </a>
                    <button type="button" disabled={busy === r.id} onClick={() => void remove(r)}>
                      Delete
                    </button>
                  </>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </main>
  );
}
