import { randomBytes } from 'node:crypto';
import { isIcebergError, type Logger } from '@iceberg/common';
import type { ServerConfig } from '@iceberg/config';
import { Id } from '@iceberg/contracts';
import type { Store } from '@iceberg/store';
import { hashPassword } from './auth/passwords.ts';

export interface BootstrapResult {
  /** True when this call created the organisation's first owner. */
  created: boolean;
  orgId: string;
  email: string;
  /** The owner's password when this call created the owner (generated when none was configured), else null. */
  password: string | null;
}

/** An organisation id from its name: `My organisation` → `my-organisation`; `default` when nothing is left. */
export function orgSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return Id.safeParse(slug).success ? slug : 'default';
}

/** A strong password for the first owner: 24 characters, 144 random bits. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * First start: when nobody can log in yet, creates the organisation named `config.admin.org`
 * (id: its slug) and its owner `config.admin.email` with `config.admin.password`, or with a
 * generated password that is returned (for the caller to show once) and never logged.
 *
 * "Nobody can log in yet" is judged with what the store can answer: the admin's e-mail address
 * has no user, and the admin organisation does not exist or has no user (an organisation left
 * without its owner by an interrupted first start gets one on the next start).
 */
export async function bootstrap(
  store: Store,
  config: ServerConfig,
  opts: { now: number; logger: Logger },
): Promise<BootstrapResult> {
  const { email, org } = config.admin;
  const orgId = orgSlug(org);
  const existing = await store.users.findByEmail(email);
  if (existing) return { created: false, orgId: existing.orgId, email: existing.email, password: null };
  const organisation = await store.organisations.get(orgId);
  if (organisation) {
    const users = await store.users.list(orgId, { limit: 1 });
    if (users.items.length > 0) return { created: false, orgId, email, password: null };
  } else {
    try {
      await store.organisations.create({ id: orgId, name: org, createdAt: opts.now });
    } catch (err) {
      // Another server instance created it at the same moment: carry on with it.
      if (!isIcebergError(err) || err.code !== 'ICEBERG_ERR_CONFLICT') throw err;
    }
  }
  const password = config.admin.password ?? generatePassword();
  try {
    await store.users.create({
      orgId,
      email,
      name: 'Administrator',
      role: 'owner',
      passwordHash: await hashPassword(password),
      createdAt: opts.now,
    });
  } catch (err) {
    if (isIcebergError(err) && err.code === 'ICEBERG_ERR_CONFLICT')
      return { created: false, orgId, email, password: null };
    throw err;
  }
  opts.logger.info(
    { orgId, email, passwordGenerated: config.admin.password === undefined },
    'created the first organisation and its owner',
  );
  return { created: true, orgId, email, password };
}
