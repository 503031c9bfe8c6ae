import type { CameraProblem, CameraState } from '../api/client.ts';

export function StateBadge({
  state,
  problem,
}: {
  state: CameraState;
  problem: CameraProblem | null | undefined;
}) {
  return (
    <span className="state">
      <span className={`badge badge-${state}`} data-testid="camera-state" data-state={state}>
        {state}
      </span>
      {problem && state !== 'online' ? (
        <span className="problem" title={problem.code}>
          {problem.message}
        </span>
      ) : null}
    </span>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status">
      {label}
    </p>
  );
}

export function ErrorBox({ message }: { message: string }) {
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay
    ? d.toLocaleTimeString()
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong';
}
