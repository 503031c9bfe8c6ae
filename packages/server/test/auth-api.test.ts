import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@iceberg/common';
import { ServerConfig } from '@iceberg/config';
import { createStore, defaultPgliteTemplatePath, hashToken, openDatabase } from '@iceberg/store';
import { pino } from 'pino';
import { verifyPassword } from '../src/auth/passwords.ts';
import { bootstrap, orgSlug } from '../src/bootstrap.ts';
import { AttemptLimiter } from '../src/services/auth.service.ts';
import { createTenantHarness, password, type TenantHarness } from './tenant-api-helpers.ts';

const login = (h: TenantHarness, email: string, pw: string, remoteAddress = '127.0.0.1') =>
  h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: pw }, remoteAddress });

describe('auth API: log in, who am I, log out', () => {
  let h: TenantHarness;
  before(async () => {
    h = await createTenantHarness({ tokenTtlHours: 2 });
  });
  after(() => h.close());

  test('logging in gives a token, its expiry, the user and the organisation; the token works', async () => {
    const r = await login(h, 'admin@org-a.test', password);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as {
      token: string;
      expiresAt: number;
      user: { id: string; email: string; name: string; role: string };
      organisation: { id: string; name: string };
    };
    assert.match(body.token, /^ice_/);
    assert.equal(body.expiresAt, h.clock.now() + 2 * 3_600_000);
    assert.equal(body.user.email, 'admin@org-a.test');
    assert.equal(body.user.role, 'admin');
    assert.deepEqual(body.organisation, { id: 'org-a', name: 'Organisation org-a' });
    assert.equal(
      Object.keys(body.user).sort().join(),
      'email,id,name,role',
      'no password hash in the answer',
    );

    const session = await h.store.sessions.findValidByHash(hashToken(body.token), h.clock.now());
    assert.ok(session, 'only the hash of the token is stored');
    assert.equal(await h.store.sessions.findValidByHash(body.token, h.clock.now()), undefined);

    const me = await h.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual(me.json(), {
      user: body.user,
      organisation: body.organisation,
      role: 'admin',
    });
  });

  test('the e-mail address is matched without regard to case or surrounding spaces', async () => {
    const r = await login(h, '  Viewer@ORG-B.test ', password);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((r.json() as { organisation: { id: string } }).organisation.id, 'org-b');
  });

  test('a wrong password and an unknown e-mail address get the very same 401', async () => {
    const wrong = await login(h, 'owner@org-a.test', 'not the password');
    const unknown = await login(h, 'nobody@org-a.test', password);
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.equal(wrong.body, unknown.body);
    assert.deepEqual(wrong.json(), {
      error: { code: 'ICEBERG_ERR_UNAUTHENTICATED', message: 'wrong e-mail or password' },
    });
  });

  test('the token expires after the configured hours', async () => {
    const token = await h.login('viewer@org-a.test');
    const me = () =>
      h.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    h.clock.advance(2 * 3_600_000 - 1);
    assert.equal((await me()).statusCode, 200);
    h.clock.advance(1);
    const r = await me();
    assert.equal(r.statusCode, 401);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'ICEBERG_ERR_UNAUTHENTICATED');
  });

  test('logging out ends that session only', async () => {
    const first = await h.login('owner@org-b.test');
    const second = (await login(h, 'owner@org-b.test', password)).json() as { token: string };
    const out = await h.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${first}` },
    });
    assert.equal(out.statusCode, 204);
    assert.equal(out.body, '');
    const again = await h.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${first}` },
    });
    assert.equal(again.statusCode, 401);
    const logoutAgain = await h.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${first}` },
    });
    assert.equal(logoutAgain.statusCode, 401);
    const other = await h.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${second.token}` },
    });
    assert.equal(other.statusCode, 200);
  });

  for (const [name, headers] of [
    ['no token', {}],
    ['an unknown token', { authorization: 'Bearer ice_not-a-real-token' }],
    ['a malformed header', { authorization: 'Basic dXNlcjpwYXNz' }],
  ] as const) {
    test(`${name} → 401 on /api/auth/me and /api/auth/logout`, async () => {
      for (const [method, url] of [
        ['GET', '/api/auth/me'],
        ['POST', '/api/auth/logout'],
      ] as const) {
        const r = await h.app.inject({ method, url, headers });
        assert.equal(r.statusCode, 401, `${method} ${url}: ${r.body}`);
        assert.equal((r.json() as { error: { code: string } }).error.code, 'ICEBERG_ERR_UNAUTHENTICATED');
      }
    });
  }

  const hostile: Array<[string, Record<string, unknown> | string, number]> = [
    ['no e-mail', { password }, 400],
    ['an e-mail of the wrong type', { email: 42, password }, 400],
    ['a password of the wrong type', { email: 'owner@org-a.test', password: ['x'] }, 400],
    ['an unknown field', { email: 'owner@org-a.test', password, admin: true }, 400],
    ['a huge e-mail', { email: `${'a'.repeat(5000)}@x.test`, password }, 400],
    ['a huge password', { email: 'owner@org-a.test', password: 'p'.repeat(100_000) }, 400],
    ['a body over the limit', { email: 'owner@org-a.test', password: 'p'.repeat(2 << 20) }, 413],
    ['an e-mail with SQL in it', { email: "' or 1=1 --", password }, 401],
    ['not JSON', '{"email":', 400],
  ];
  for (const [name, payload, status] of hostile) {
    test(`logging in with ${name} → ${status}`, async () => {
      const r = await h.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      assert.equal(r.statusCode, status, r.body);
      assert.match((r.json() as { error: { code: string } }).error.code, /^ICEBERG_ERR_/);
    });
  }

  test('the OpenAPI document describes the auth routes', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string; tags?: string[]; security?: unknown[] }>>;
    };
    assert.ok(doc.paths['/api/auth/login']?.post?.summary);
    assert.equal(doc.paths['/api/auth/login']?.post?.security, undefined);
    assert.deepEqual(doc.paths['/api/auth/me']?.get?.security, [{ bearer: [] }]);
    assert.deepEqual(doc.paths['/api/auth/logout']?.post?.tags, ['auth']);
  });
});

describe('auth API: log-in attempts are limited per client and per e-mail address', () => {
  let h: TenantHarness;
  before(async () => {
    h = await createTenantHarness({ loginAttemptsPerMinute: 3 });
  });
  after(() => h.close());

  test('per client address: the 4th attempt in a minute is refused, even with the right password', async () => {
    const ip = '10.0.0.1';
    assert.equal((await login(h, 'owner@org-a.test', 'wrong', ip)).statusCode, 401);
    assert.equal((await login(h, 'admin@org-a.test', 'wrong', ip)).statusCode, 401);
    assert.equal((await login(h, 'nobody@org-a.test', 'wrong', ip)).statusCode, 401);
    h.clock.advance(20_000);
    const refused = await login(h, 'viewer@org-a.test', password, ip);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal((refused.json() as { error: { code: string } }).error.code, 'ICEBERG_ERR_RATE_LIMITED');
    assert.equal(refused.headers['retry-after'], '40');
    // Another client is not affected.
    assert.equal((await login(h, 'viewer@org-a.test', password, '10.0.0.2')).statusCode, 200);
    // A minute after the first attempt, the client may try again.
    h.clock.advance(40_000);
    assert.equal((await login(h, 'viewer@org-a.test', password, ip)).statusCode, 200);
  });

  test('per e-mail address: attempts from many addresses are counted together', async () => {
    h.clock.advance(120_000);
    const email = 'owner@org-b.test';
    for (let i = 1; i <= 3; i++)
      assert.equal((await login(h, email, 'wrong', `10.1.0.${i}`)).statusCode, 401);
    const refused = await login(h, email.toUpperCase(), password, '10.1.0.9');
    assert.equal(refused.statusCode, 429, refused.body);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    // Other e-mail addresses from a fresh client still work.
    assert.equal((await login(h, 'admin@org-b.test', password, '10.1.0.10')).statusCode, 200);
    h.clock.advance(60_000);
    assert.equal((await login(h, email, password, '10.1.0.11')).statusCode, 200);
  });

  test('the limiter keeps a bounded number of keys', () => {
    let now = 0;
    const limiter = new AttemptLimiter(2, 60_000, { now: () => now }, 100);
    for (let i = 0; i < 1000; i++) {
      now += 1;
      assert.equal(limiter.attempt([`ip:${i}`]).ok, true);
    }
    assert.ok(limiter.size <= 100, `size ${limiter.size}`);
  });
});

describe('bootstrap: the first organisation and owner', () => {
  const open = async () => {
    const database = await openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() });
    return { database, store: createStore(database.db) };
  };

  test('on an empty database it creates the organisation and an owner with a generated password, which it does not log', async () => {
    const { database, store } = await open();
    try {
      const lines: string[] = [];
      const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
      const config = ServerConfig.parse({ admin: { email: 'boss@example.com', org: 'Acme Security Ltd.' } });
      const result = await bootstrap(store, config, { now: 1_700_000_000_000, logger });
      assert.equal(result.created, true);
      assert.equal(result.orgId, 'acme-security-ltd');
      assert.equal(result.email, 'boss@example.com');
      assert.ok(result.password && result.password.length >= 20, 'a strong generated password');
      const org = await store.organisations.get('acme-security-ltd');
      assert.equal(org?.name, 'Acme Security Ltd.');
      const user = await store.users.findByEmail('boss@example.com');
      assert.equal(user?.role, 'owner');
      assert.equal(user?.orgId, 'acme-security-ltd');
      assert.equal(await verifyPassword(user!.passwordHash, result.password!), true);
      assert.ok(lines.length > 0);
      assert.ok(!lines.join('\n').includes(result.password!), 'the password is never logged');

      const again = await bootstrap(store, config, { now: 1_700_000_000_001, logger: silentLogger() });
      assert.deepEqual(again, {
        created: false,
        orgId: 'acme-security-ltd',
        email: 'boss@example.com',
        password: null,
      });
      assert.equal((await store.users.list('acme-security-ltd')).items.length, 1);
    } finally {
      await database.close();
    }
  });

  test('it uses the configured password, and does nothing when users exist', async () => {
    const { database, store } = await open();
    try {
      const config = ServerConfig.parse({
        admin: { email: 'a@example.com', password: 'long enough secret' },
      });
      const result = await bootstrap(store, config, { now: 1, logger: silentLogger() });
      assert.deepEqual(result, {
        created: true,
        orgId: 'my-organisation',
        email: 'a@example.com',
        password: 'long enough secret',
      });
      const user = await store.users.findByEmail('a@example.com');
      assert.equal(await verifyPassword(user!.passwordHash, 'long enough secret'), true);
      const second = await bootstrap(store, config, { now: 2, logger: silentLogger() });
      assert.equal(second.created, false);
      assert.equal(second.password, null);
    } finally {
      await database.close();
    }
  });

  test('an organisation left without an owner by an interrupted first start gets one', async () => {
    const { database, store } = await open();
    try {
      await store.organisations.create({ id: 'default', name: '!!!' });
      const config = ServerConfig.parse({ admin: { org: '!!!' } });
      const result = await bootstrap(store, config, { now: 1, logger: silentLogger() });
      assert.equal(result.created, true);
      assert.equal(result.orgId, 'default');
      assert.equal((await store.users.findByEmail('admin@iceberg.local'))?.orgId, 'default');
    } finally {
      await database.close();
    }
  });

  test('organisation ids are slugs of the name', () => {
    assert.equal(orgSlug('My organisation'), 'my-organisation');
    assert.equal(orgSlug('  Café Zürich  '), 'cafe-zurich');
    assert.equal(orgSlug('---'), 'default');
    assert.equal(orgSlug('x'.repeat(200)).length, 64);
  });
});
