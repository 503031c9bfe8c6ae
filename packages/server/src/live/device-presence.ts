import type { Clock } from '@iceberg/common';
import type { Store } from '@iceberg/store';
import type { DevicePresence } from './messenger.ts';

/**
 * A device's presence from its heartbeats (the devices table): offline when it never sent one,
 * said it was stopping, or has been silent for `offlineSeconds`. Returns the reason, a sentence
 * for the user, or null when it looks online.
 */
export function devicePresenceFromStore(
  store: Pick<Store, 'devices'>,
  offlineSeconds: number,
  clock: Clock,
): DevicePresence {
  return async (orgId, deviceId) => {
    const device = await store.devices.get(orgId, deviceId);
    if (!device || device.lastSeenAt === null)
      return `the device "${deviceId}" is offline: it has never sent a heartbeat to this server`;
    if (device.status?.state === 'stopping')
      return `the device "${deviceId}" is offline: it shut down at ${new Date(device.lastSeenAt).toISOString()}`;
    const silentMs = clock.now() - device.lastSeenAt;
    if (silentMs > offlineSeconds * 1000)
      return `the device "${deviceId}" is offline: no heartbeat for ${Math.round(silentMs / 1000)} s`;
    return null;
  };
}
