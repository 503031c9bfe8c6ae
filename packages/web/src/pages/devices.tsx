import { useEffect, useState } from 'react';
import { type Device, type DeviceStatus, listDevices } from '../api/client.ts';
import { ErrorBox, formatDuration, formatTime, Spinner } from '../components/ui.tsx';
import { useLoaded } from '../components/use-loaded.ts';
import { useLiveMessages } from '../live.tsx';

/** A device is taken for offline when no heartbeat came for this long (they come every 10 s by default). */
const OFFLINE_AFTER_MS = 60_000;

type Health = 'online' | 'offline' | 'stopped' | 'unknown';

function healthOf(device: Device, now: number): Health {
  if (!device.status || device.lastSeenAt === null) return 'unknown';
  if (device.status.state === 'stopping') return 'stopped';
  return now - device.lastSeenAt > OFFLINE_AFTER_MS ? 'offline' : 'online';
}

const BADGE: Record<Health, string> = {
  online: 'badge-online',
  offline: 'badge-offline',
  stopped: 'badge-connecting',
  unknown: '',
};

const count = (n: number) => n.toLocaleString();

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The edge devices: whether they report, their cameras and load, and what waits to be sent. */
export function DevicesPage() {
  const {
    value: devices,
    setValue: setDevices,
    error,
  } = useLoaded((signal) => listDevices(signal).then((r) => r.items));
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 5000);
    return () => clearInterval(timer);
  }, []);

  useLiveMessages((m) => {
    if (m.type !== 'device-status') return;
    const s = m.data as DeviceStatus;
    setNow(Date.now());
    setDevices((prev) => {
      if (!prev) return prev;
      const known = prev.some((d) => d.id === s.deviceId);
      const updated = (d: Device): Device =>
        d.lastSeenAt !== null && d.lastSeenAt > s.at ? d : { ...d, status: s, lastSeenAt: s.at };
      if (known) return prev.map((d) => (d.id === s.deviceId ? updated(d) : d));
      // A device's first heartbeat: it appears (named after its id until someone names it).
      return [
        ...prev,
        { id: s.deviceId, name: s.deviceId, siteId: null, lastSeenAt: s.at, status: s, createdAt: s.at },
      ];
    });
  });

  return (
    <main className="page">
      <h1>Devices</h1>
      {error ? <ErrorBox message={error} /> : null}
      {!devices && !error ? <Spinner label="Loading devices…" /> : null}
      {devices && devices.length === 0 ? (
        <p className="card empty muted">
          No device has reported yet. A device appears with its first heartbeat.
        </p>
      ) : null}
      {devices && devices.length > 0 ? (
        <ul className="grid">
          {devices.map((d) => (
            <DeviceCard key={d.id} device={d} now={now} />
          ))}
        </ul>
      ) : null}
    </main>
  );
}

function DeviceCard({ device, now }: { device: Device; now: number }) {
  const health = healthOf(device, now);
  const s = device.status;
  const online = s ? s.cameras.filter((c) => c.state === 'online').length : 0;
  return (
    <li
      className="card device-card"
      data-testid="device-card"
      data-device-id={device.id}
      data-health={health}
    >
      <div className="tile-head">
        <strong>{device.name}</strong>
        <span className={`badge ${BADGE[health]}`} data-testid="device-health">
          {health}
        </span>
      </div>
      {device.name !== device.id ? <p className="muted small">{device.id}</p> : null}
      {s ? (
        <dl className="device-facts">
          <dt>Last heard</dt>
          <dd>
            {formatTime(device.lastSeenAt)}
            {health === 'offline' && device.lastSeenAt !== null
              ? ` (${formatDuration(now - device.lastSeenAt)} ago)`
              : ''}
          </dd>
          <dt>Cameras</dt>
          <dd data-testid="device-cameras">
            {online} of {s.cameras.length} online
          </dd>
          <dt>Load</dt>
          <dd>
            CPU {s.cpuCores.toFixed(2)} cores · detector {Math.round(s.detector.load * 100)} % ·{' '}
            {s.detector.inferencesPerSecond.toFixed(1)} inferences/s
          </dd>
          <dt>Version</dt>
          <dd>
            {s.version} on {s.hostname}
          </dd>
          {s.outbox ? (
            <>
              <dt>To send</dt>
              <dd
                data-testid="device-outbox"
                className={s.outbox.pendingMessages > 0 ? 'backlog' : undefined}
              >
                {s.outbox.pendingMessages > 0
                  ? `${count(s.outbox.pendingMessages)} messages waiting (${bytes(s.outbox.pendingBytes)})${
                      s.outbox.oldestPendingAt !== null
                        ? `, the oldest from ${formatDuration(Math.max(0, s.at - s.outbox.oldestPendingAt))} before this report`
                        : ''
                    }`
                  : 'Nothing waiting: every message is delivered'}
                {s.outbox.shed > 0 ? (
                  <span className="problem" data-testid="device-shed">
                    {' '}
                    {count(s.outbox.shed)} messages dropped at the disk quota since the device started (raw
                    detections first)
                  </span>
                ) : null}
              </dd>
            </>
          ) : null}
        </dl>
      ) : (
        <p className="muted">No heartbeat yet.</p>
      )}
    </li>
  );
}
