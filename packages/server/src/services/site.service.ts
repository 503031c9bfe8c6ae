import { type Clock, IcebergError, type Logger } from '@iceberg/common';
import { Id } from '@iceberg/contracts';
import type { Page, PageRequest, SiteRecord, Store } from '@iceberg/store';
import { z } from 'zod';

/** True when `Intl` knows `zone` as an IANA time zone ("Europe/London", "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone, checked with `Intl`. */
export const TimeZone = z
  .string()
  .trim()
  .refine((zone) => zone.length <= 64 && isTimeZone(zone), {
    message: 'timeZone must be an IANA time zone such as "Europe/London" or "UTC"',
  })
  .meta({ description: 'IANA time zone, e.g. "Europe/London"' });

export const CreateSiteInput = z
  .object({
    /** Unique within the organisation; defaults to a random UUID. */
    id: Id.optional(),
    name: z.string().trim().min(1).max(120),
    timeZone: TimeZone,
  })
  .strict();
export type CreateSiteInput = z.output<typeof CreateSiteInput>;

/** Only what is given changes. */
export const UpdateSiteInput = z
  .object({ name: z.string().trim().min(1).max(120), timeZone: TimeZone })
  .partial()
  .strict();
export type UpdateSiteInput = z.output<typeof UpdateSiteInput>;

export const SiteView = z.object({
  id: z.string(),
  name: z.string(),
  timeZone: z.string(),
  createdAt: z.number(),
});
export type SiteView = z.output<typeof SiteView>;

export interface SiteServiceOptions {
  store: Pick<Store, 'sites'>;
  clock: Pick<Clock, 'now'>;
  logger?: Logger;
}

/** The sites (places) of an organisation; its devices may belong to one. */
export class SiteService {
  constructor(private readonly o: SiteServiceOptions) {}

  /** Oldest first. */
  async list(orgId: string, page: PageRequest): Promise<Page<SiteView>> {
    const result = await this.o.store.sites.list(orgId, page);
    return { items: result.items.map(toView), nextCursor: result.nextCursor };
  }

  async get(orgId: string, id: string): Promise<SiteView> {
    const site = await this.o.store.sites.get(orgId, id);
    if (!site) throw notFound(id);
    return toView(site);
  }

  /** Throws ICEBERG_ERR_CONFLICT when the organisation already has a site with this id. */
  async create(orgId: string, input: CreateSiteInput): Promise<SiteView> {
    const site = await this.o.store.sites.create({
      orgId,
      ...(input.id !== undefined && { id: input.id }),
      name: input.name,
      timeZone: input.timeZone,
      createdAt: this.o.clock.now(),
    });
    this.o.logger?.info({ orgId, siteId: site.id }, 'site created');
    return toView(site);
  }

  async update(orgId: string, id: string, patch: UpdateSiteInput): Promise<SiteView> {
    const site = await this.o.store.sites.update(orgId, id, {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.timeZone !== undefined && { timeZone: patch.timeZone }),
    });
    if (!site) throw notFound(id);
    return toView(site);
  }

  /** The site's devices stay, without a site. */
  async delete(orgId: string, id: string): Promise<void> {
    if (!(await this.o.store.sites.delete(orgId, id))) throw notFound(id);
    this.o.logger?.info({ orgId, siteId: id }, 'site deleted');
  }
}

function notFound(id: string): IcebergError {
  return new IcebergError('ICEBERG_ERR_NOT_FOUND', `no site "${id}" in this organisation`);
}

function toView(site: SiteRecord): SiteView {
  return { id: site.id, name: site.name, timeZone: site.timeZone, createdAt: site.createdAt };
}
