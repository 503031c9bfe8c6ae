import { IcebergError, type Logger } from '@iceberg/common';
import { DeviceStatusV1, Id } from '@iceberg/contracts';
import type { DeviceRecord, Page, PageRequest, Store } from '@iceberg/store';
import { z } from 'zod';

/** Only what is given changes; `siteId: null` takes the device out of its site. */
export const UpdateDeviceInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    siteId: Id.nullable().meta({ description: 'A site of the organisation, or null for none' }),
  })
  .partial()
  .strict();
export type UpdateDeviceInput = z.output<typeof UpdateDeviceInput>;

/** An edge device as the API shows it, with its latest heartbeat. */
export const DeviceView = z.object({
  id: z.string(),
  name: z.string(),
  siteId: z.string().nullable(),
  lastSeenAt: z.number().nullable().meta({ description: 'When its latest heartbeat was sent' }),
  status: DeviceStatusV1.nullable().meta({ description: 'Its latest heartbeat, as received' }),
  createdAt: z.number(),
});
export type DeviceView = z.output<typeof DeviceView>;

export interface DeviceServiceOptions {
  store: Pick<Store, 'devices' | 'sites'>;
  logger?: Logger;
}

/**
 * The edge devices of an organisation. They appear with their first heartbeat; users name them,
 * put them in a site and remove them.
 */
export class DeviceService {
  constructor(private readonly o: DeviceServiceOptions) {}

  /** By id. */
  async list(orgId: string, filter: { siteId?: string }, page: PageRequest): Promise<Page<DeviceView>> {
    const result = await this.o.store.devices.list(orgId, filter, page);
    return { items: result.items.map(toView), nextCursor: result.nextCursor };
  }

  async get(orgId: string, id: string): Promise<DeviceView> {
    const device = await this.o.store.devices.get(orgId, id);
    if (!device) throw notFound(id);
    return toView(device);
  }

  /** Throws ICEBERG_ERR_INPUT_INVALID (naming `siteId`) when the site is not one of the organisation's. */
  async update(orgId: string, id: string, patch: UpdateDeviceInput): Promise<DeviceView> {
    if (!(await this.o.store.devices.get(orgId, id))) throw notFound(id);
    if (patch.siteId != null && !(await this.o.store.sites.get(orgId, patch.siteId))) {
      const message = `siteId: no site "${patch.siteId}" in this organisation`;
      throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', message, {
        details: { issues: [{ path: 'body.siteId', message }] },
      });
    }
    const device = await this.o.store.devices.update(orgId, id, {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.siteId !== undefined && { siteId: patch.siteId }),
    });
    if (!device) throw notFound(id);
    return toView(device);
  }

  /** Its cameras stay; a device that sends another heartbeat appears again. */
  async delete(orgId: string, id: string): Promise<void> {
    if (!(await this.o.store.devices.delete(orgId, id))) throw notFound(id);
    this.o.logger?.info({ orgId, deviceId: id }, 'device deleted');
  }
}

function notFound(id: string): IcebergError {
  return new IcebergError('ICEBERG_ERR_NOT_FOUND', `no device "${id}" in this organisation`);
}

function toView(device: DeviceRecord): DeviceView {
  // The heartbeat is stored as received; one that no longer matches the contract is not shown.
  const status = DeviceStatusV1.safeParse(device.status);
  return {
    id: device.id,
    name: device.name,
    siteId: device.siteId,
    lastSeenAt: device.lastSeenAt,
    status: status.success ? status.data : null,
    createdAt: device.createdAt,
  };
}
