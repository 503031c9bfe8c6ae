import { randomBytes } from 'node:crypto';
import { type Clock, IcebergError, type Logger } from '@iceberg/common';
import type { Store, UserRole } from '@iceberg/store';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { newToken } from '../auth/tokens.ts';

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: UserRole;
}

export interface OrganisationView {
  id: string;
  name: string;
}

export interface LoginResult {
  /** The bearer token: shown once, only its hash is stored. */
  token: string;
  /** When the token stops working (ms since the epoch). */
  expiresAt: number;
  user: UserView;
  organisation: OrganisationView;
}

export interface Me {
  user: UserView;
  organisation: OrganisationView;
  role: UserRole;
}

/** Who is logged in, as `authenticate` sets it on a request. */
export interface SessionCaller {
  orgId: string;
  userId: string;
  sessionId: string;
}

/** The one answer to a wrong e-mail address or a wrong password, so neither can be told apart. */
export const WRONG_CREDENTIALS = 'wrong e-mail or password';

/**
 * A fixed-window attempt counter per key (client address, e-mail address), on an injected clock
 * so that tests are deterministic. Memory is bounded: expired windows are swept, and beyond
 * `maxKeys` the oldest windows are forgotten.
 */
export class AttemptLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly maxKeys = 10_000,
  ) {}

  /**
   * Counts one attempt for every key, unless one of them has used up its window: then nothing is
   * counted and the answer says how long until that key may try again.
   */
  attempt(keys: readonly string[]): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.clock.now();
    this.sweep(now);
    let retryAfterMs = 0;
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && now - w.start < this.windowMs && w.count >= this.limit)
        retryAfterMs = Math.max(retryAfterMs, w.start + this.windowMs - now);
    }
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && now - w.start < this.windowMs) w.count += 1;
      else {
        this.windows.delete(key);
        this.windows.set(key, { start: now, count: 1 });
      }
    }
    return { ok: true };
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    if (this.windows.size < this.maxKeys) return;
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
    // Still full: forget the oldest windows (Map iterates in insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}

export interface AuthServiceOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** How long a login token lives. */
  tokenTtlHours: number;
  /** Attempts allowed per client address and per e-mail address in any one minute. */
  loginAttemptsPerMinute: number;
}

/** Logging in and out: argon2-checked passwords, bearer tokens stored only as hashes, attempt limits. */
export class AuthService {
  private readonly limiter: AttemptLimiter;
  /** A hash of a random password, made at once, to verify against when the e-mail address is unknown. */
  private readonly dummyHash: Promise<string>;

  constructor(private readonly o: AuthServiceOptions) {
    this.limiter = new AttemptLimiter(o.loginAttemptsPerMinute, 60_000, o.clock);
    this.dummyHash = hashPassword(randomBytes(16).toString('base64url'));
    // Awaited on the first unknown e-mail address; never an unhandled rejection before that.
    this.dummyHash.catch(() => undefined);
  }

  /**
   * Checks an e-mail address and password and opens a session. Throws ICEBERG_ERR_RATE_LIMITED
   * (details.retryAfterSeconds) when the client or the e-mail address has tried too often this
   * minute, and ICEBERG_ERR_UNAUTHENTICATED with one message for an unknown e-mail address and for
   * a wrong password. The password is verified in both cases so that timing tells nothing.
   */
  async login(input: { email: string; password: string; ip: string }): Promise<LoginResult> {
    const email = input.email.trim();
    const verdict = this.limiter.attempt([`ip:${input.ip}`, `email:${email.toLowerCase()}`]);
    if (!verdict.ok) {
      const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      throw new IcebergError(
        'ICEBERG_ERR_RATE_LIMITED',
        `too many log-in attempts: try again in ${retryAfterSeconds} s`,
        { details: { retryAfterSeconds } },
      );
    }
    const user = await this.o.store.users.findByEmail(email);
    const passwordOk = await verifyPassword(user?.passwordHash ?? (await this.dummyHash), input.password);
    if (!user || !passwordOk) throw new IcebergError('ICEBERG_ERR_UNAUTHENTICATED', WRONG_CREDENTIALS);
    const organisation = await this.o.store.organisations.get(user.orgId);
    if (!organisation) throw new IcebergError('ICEBERG_ERR_UNAUTHENTICATED', WRONG_CREDENTIALS);
    const now = this.o.clock.now();
    const expiresAt = now + Math.round(this.o.tokenTtlHours * 3_600_000);
    const { token, hash } = newToken();
    await this.o.store.sessions.create({
      orgId: user.orgId,
      userId: user.id,
      tokenHash: hash,
      expiresAt,
      kind: 'session',
      createdAt: now,
    });
    this.o.logger.info({ orgId: user.orgId, userId: user.id }, 'user logged in');
    return {
      token,
      expiresAt,
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      organisation: { id: organisation.id, name: organisation.name },
    };
  }

  /** Ends the caller's session: its token stops working at once. */
  async logout(caller: SessionCaller): Promise<void> {
    await this.o.store.sessions.delete(caller.orgId, caller.sessionId);
  }

  /** The caller, their organisation and role. */
  async me(caller: SessionCaller): Promise<Me> {
    const [user, organisation] = await Promise.all([
      this.o.store.users.get(caller.orgId, caller.userId),
      this.o.store.organisations.get(caller.orgId),
    ]);
    if (!user || !organisation)
      throw new IcebergError('ICEBERG_ERR_UNAUTHENTICATED', 'the user of this token no longer exists');
    return {
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      organisation: { id: organisation.id, name: organisation.name },
      role: user.role,
    };
  }
}
