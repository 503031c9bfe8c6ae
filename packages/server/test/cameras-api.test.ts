import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CameraStatusV1, DeviceStatusV1 } from '@iceberg/contracts';
import { examples } from '@iceberg/contracts';
import type { InjectOptions } from 'fastify';
import { cameraConfigOf, redactSecrets } from '../src/services/camera.service.ts';
import { createTenantHarness, type TenantHarness } from './tenant-api-helpers.ts';

const SECRET = 'S3cret-P@ss/word';
const QUERY_SECRET = 'hunter2';
const secretInput = `rtsp://admin:${SECRET}@192.0.2.10:554/Streaming/Channels/101?user=admin&password=${QUERY_SECRET}`;

type Camera = {
  id: string;
  name: string;
  deviceId: string;
  enabled: boolean;
  input: string;
  settings: { detect: { fps: number; classes?: string[] }; loop: boolean };
  state: string;
  problem: { code: string; message: string } | null;
  stateAt: number | null;
  latestSnapshotAt: number | null;
};
type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string }> } } };

describe('cameras API', () => {
  let h: TenantHarness;
  /** Every response body, to check that no secret ever leaves. */
  const bodies: string[] = [];
  const as = async (email: string, request: InjectOptions) => {
    const r = await h.as(email, request);
    bodies.push(r.body);
    return r;
  };
  const owner = 'owner@org-a.test';
  const admin = 'admin@org-a.test';
  const viewer = 'viewer@org-a.test';
  const ownerB = 'owner@org-b.test';

  before(async () => {
    h = await createTenantHarness();
  });
  after(() => h.close());

  test('an admin adds a camera: 201 with defaults, the input shown without its password', async () => {
    const r = await as(admin, {
      method: 'POST',
      url: '/api/cameras',
      payload: { id: 'front-door', name: 'Front door', input: secretInput, settings: { detect: { fps: 1 } } },
    });
    assert.equal(r.statusCode, 201, r.body);
    const camera = r.json() as Camera;
    assert.equal(camera.id, 'front-door');
    assert.equal(camera.name, 'Front door');
    assert.equal(camera.deviceId, 'edge-1', 'no device yet: edge-1');
    assert.equal(camera.enabled, true);
    assert.equal(camera.state, 'connecting');
    assert.equal(camera.problem, null);
    assert.equal(camera.stateAt, null);
    assert.equal(camera.latestSnapshotAt, null);
    assert.equal(camera.settings.detect.fps, 1);
    assert.equal(camera.settings.loop, false, 'defaults are filled in');
    assert.equal(
      camera.input,
      'rtsp://admin:***@192.0.2.10:554/Streaming/Channels/101?user=admin&password=***',
    );
    assert.deepEqual(h.changes.cameras.at(-1), ['org-a', 'front-door']);
    // The raw input is kept for the edge device.
    const stored = await h.store.cameras.getWithInput('org-a', 'front-door');
    assert.equal(stored?.input, secretInput);
  });

  test('the default device is the organisation’s first device; the name defaults to the id', async () => {
    await h.store.devices.upsertFromHeartbeat({
      ...examples.deviceStatus,
      orgId: 'org-b',
      deviceId: 'nvr-b',
    } satisfies DeviceStatusV1);
    const r = await as(ownerB, {
      method: 'POST',
      url: '/api/cameras',
      payload: { id: 'yard', input: '/dev/video0' },
    });
    assert.equal(r.statusCode, 201, r.body);
    const camera = r.json() as Camera;
    assert.equal(camera.deviceId, 'nvr-b');
    assert.equal(camera.name, 'yard');
  });

  test('the inputs ffmpeg reads are accepted', async () => {
    const inputs = [
      'rtsps://cam.example.com/live',
      'rtmp://192.0.2.1/live/stream',
      'http://192.0.2.1/video.mjpg',
      'https://example.com/stream.m3u8',
      '/srv/footage/vtest.avi',
      '/dev/video2',
    ];
    for (const [i, input] of inputs.entries()) {
      const r = await as(owner, { method: 'POST', url: '/api/cameras', payload: { id: `kind-${i}`, input } });
      assert.equal(r.statusCode, 201, `${input}: ${r.body}`);
      assert.equal((r.json() as Camera).input, input);
    }
  });

  test('other inputs are refused, naming the field and never repeating the value', async () => {
    const inputs = [
      'file:///etc/passwd',
      'concat:/a.mp4|/b.mp4',
      '-i /etc/shadow',
      'relative/path.mp4',
      'C:\\videos\\a.mp4',
      '/dev/sda',
      '/proc/self/environ',
      '/srv/../etc/passwd',
      'rtsp://host/a\nb',
      'rtsp://user:pw@host/a b',
      'udp://239.0.0.1:1234',
      '',
      `rtsp://host/${'x'.repeat(2100)}`,
    ];
    for (const input of inputs) {
      const r = await as(owner, { method: 'POST', url: '/api/cameras', payload: { id: 'bad-input', input } });
      assert.equal(r.statusCode, 400, `${JSON.stringify(input)}: ${r.body}`);
      const body = r.json() as ErrorBody;
      assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
      assert.deepEqual(
        body.error.details?.issues?.map((i) => i.path),
        ['body.input'],
      );
      if (input.length > 3)
        assert.ok(!r.body.includes(input), `the message repeats ${JSON.stringify(input)}`);
    }
  });

  test('a second camera with the same id → 409; another organisation may use the id', async () => {
    const r = await as(owner, {
      method: 'POST',
      url: '/api/cameras',
      payload: { id: 'front-door', input: 'rtsp://192.0.2.99/x' },
    });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_CONFLICT');
    const b = await as(ownerB, {
      method: 'POST',
      url: '/api/cameras',
      payload: { id: 'front-door', input: 'rtsp://192.0.2.50/b' },
    });
    assert.equal(b.statusCode, 201, b.body);
  });

  test('a viewer can list and read but not add, change or delete (403, before any validation)', async () => {
    assert.equal((await as(viewer, { method: 'GET', url: '/api/cameras' })).statusCode, 200);
    assert.equal((await as(viewer, { method: 'GET', url: '/api/cameras/front-door' })).statusCode, 200);
    const writes: InjectOptions[] = [
      { method: 'POST', url: '/api/cameras', payload: { id: 'v-cam', input: '/dev/video0' } },
      { method: 'POST', url: '/api/cameras', payload: { nonsense: true } },
      { method: 'PATCH', url: '/api/cameras/front-door', payload: { name: 'Mine now' } },
      { method: 'PATCH', url: '/api/cameras/front-door', payload: { name: 42 } },
      { method: 'DELETE', url: '/api/cameras/front-door' },
    ];
    for (const request of writes) {
      const r = await as(viewer, request);
      assert.equal(r.statusCode, 403, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_FORBIDDEN');
    }
    const camera = (await as(owner, { method: 'GET', url: '/api/cameras/front-door' })).json() as Camera;
    assert.equal(camera.name, 'Front door');
  });

  test('PATCH changes what is given; settings are replaced as a whole', async () => {
    const r = await as(admin, {
      method: 'PATCH',
      url: '/api/cameras/front-door',
      payload: {
        name: 'Front door (street)',
        enabled: false,
        settings: { detect: { fps: 0.5, classes: ['car'] } },
      },
    });
    assert.equal(r.statusCode, 200, r.body);
    const camera = r.json() as Camera;
    assert.equal(camera.name, 'Front door (street)');
    assert.equal(camera.enabled, false);
    assert.equal(camera.settings.detect.fps, 0.5);
    assert.deepEqual(camera.settings.detect.classes, ['car']);
    assert.match(camera.input, /admin:\*\*\*@/);

    const empty = await as(admin, { method: 'PATCH', url: '/api/cameras/front-door', payload: {} });
    assert.equal(empty.statusCode, 200, empty.body);
    assert.equal((empty.json() as Camera).enabled, false, 'enabled is kept');

    const onlyName = await as(admin, {
      method: 'PATCH',
      url: '/api/cameras/front-door',
      payload: { enabled: true },
    });
    assert.equal((onlyName.json() as Camera).settings.detect.fps, 0.5, 'settings are kept');

    const input = await as(admin, {
      method: 'PATCH',
      url: '/api/cameras/front-door',
      payload: { input: 'rtsp://ops:an0ther-S3cret@192.0.2.10/ch1' },
    });
    assert.equal(input.statusCode, 200, input.body);
    assert.equal((input.json() as Camera).input, 'rtsp://ops:***@192.0.2.10/ch1');
    assert.ok(!bodies.some((b) => b.includes('an0ther-S3cret')));

    const stored = await h.store.cameras.getWithInput('org-a', 'front-door');
    const config = cameraConfigOf(stored!);
    assert.equal(config.input, 'rtsp://ops:an0ther-S3cret@192.0.2.10/ch1');
    assert.equal(config.enabled, true);
    assert.equal(config.detect.fps, 0.5);
    assert.equal(config.name, 'Front door (street)');
  });

  test('a problem message quoting the URL is shown without the password', async () => {
    await h.store.cameras.setState({
      ...examples.cameraStatus,
      orgId: 'org-a',
      cameraId: 'front-door',
      at: h.clock.now(),
      problem: { code: 'auth', message: `401 Unauthorized (rtsp://ops:${SECRET}@192.0.2.10/ch1)` },
    } satisfies CameraStatusV1);
    const r = await as(viewer, { method: 'GET', url: '/api/cameras/front-door' });
    const camera = r.json() as Camera;
    assert.equal(camera.state, 'offline');
    assert.deepEqual(camera.problem, {
      code: 'auth',
      message: '401 Unauthorized (rtsp://ops:***@192.0.2.10/ch1)',
    });
  });

  test('lists are paginated and hold only the caller’s cameras', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/cameras?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await as(viewer, { method: 'GET', url });
      assert.equal(r.statusCode, 200, r.body);
      const page = r.json() as { items: Camera[]; nextCursor: string | null };
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    const all = (await h.store.cameras.list('org-a', {}, { limit: 500 })).items.map((c) => c.id);
    assert.deepEqual(seen, all);
    assert.ok(seen.includes('front-door'));
    assert.ok(!seen.includes('yard'), 'org-b’s camera is not listed');
    const b = (await as(ownerB, { method: 'GET', url: '/api/cameras' })).json() as { items: Camera[] };
    assert.deepEqual(b.items.map((c) => c.id).sort(), ['front-door', 'yard']);
    assert.ok(b.items.every((c) => c.input !== secretInput));
    const byDevice = (await as(ownerB, { method: 'GET', url: '/api/cameras?deviceId=nvr-b' })).json() as {
      items: Camera[];
    };
    assert.deepEqual(
      byDevice.items.map((c) => c.id),
      ['front-door', 'yard'],
    );
    const none = (await as(owner, { method: 'GET', url: '/api/cameras?deviceId=nvr-b' })).json() as {
      items: Camera[];
    };
    assert.deepEqual(none.items, [], 'org-a has no camera on org-b’s device');
  });

  test('org-a gets 404 for org-b’s cameras on every route, and org-b’s camera is untouched', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: '/api/cameras/yard' },
      { method: 'PATCH', url: '/api/cameras/yard', payload: { name: 'taken' } },
      { method: 'DELETE', url: '/api/cameras/yard' },
    ];
    for (const request of requests) {
      const r = await as(owner, request);
      assert.equal(r.statusCode, 404, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_NOT_FOUND');
    }
    const yard = await h.store.cameras.get('org-b', 'yard');
    assert.equal(yard?.name, 'yard');
  });

  test('DELETE → 204, then the camera is gone', async () => {
    const r = await as(owner, { method: 'DELETE', url: '/api/cameras/kind-0' });
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assert.equal((await as(owner, { method: 'GET', url: '/api/cameras/kind-0' })).statusCode, 404);
    assert.equal((await as(owner, { method: 'DELETE', url: '/api/cameras/kind-0' })).statusCode, 404);
    assert.deepEqual(h.changes.cameras.at(-1), ['org-a', 'kind-0']);
  });

  test('no token → 401 on every camera route', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: '/api/cameras' },
      { method: 'GET', url: '/api/cameras/front-door' },
      { method: 'POST', url: '/api/cameras', payload: { id: 'x', input: '/dev/video0' } },
      {
        method: 'POST',
        url: '/api/cameras',
        payload: 'not json',
        headers: { 'content-type': 'application/json' },
      },
      { method: 'PATCH', url: '/api/cameras/front-door', payload: { name: 'x' } },
      { method: 'DELETE', url: '/api/cameras/front-door' },
    ];
    for (const request of requests) {
      const r = await h.app.inject(request);
      bodies.push(r.body);
      assert.equal(r.statusCode, 401, `${request.method} ${request.url}: ${r.body}`);
    }
  });

  const hostile: Array<[string, InjectOptions]> = [
    ['a path-traversal id', { method: 'GET', url: '/api/cameras/..%2F..%2Fetc%2Fpasswd' }],
    [
      'a path-traversal id on PATCH',
      { method: 'PATCH', url: '/api/cameras/..%2F..', payload: { name: 'x' } },
    ],
    ['a path-traversal id on DELETE', { method: 'DELETE', url: '/api/cameras/..%2F..' }],
    ['a dotted id', { method: 'GET', url: '/api/cameras/..' }],
    ['an id with a NUL', { method: 'GET', url: '/api/cameras/a%00b' }],
    ['a very long id', { method: 'GET', url: `/api/cameras/${'a'.repeat(5000)}` }],
    [
      'a path-traversal id on create',
      { method: 'POST', url: '/api/cameras', payload: { id: '../../x', input: '/dev/video0' } },
    ],
    [
      'a huge name',
      {
        method: 'POST',
        url: '/api/cameras',
        payload: { id: 'h1', name: 'n'.repeat(100_000), input: '/dev/video0' },
      },
    ],
    [
      'an id of the wrong type',
      { method: 'POST', url: '/api/cameras', payload: { id: 7, input: '/dev/video0' } },
    ],
    [
      'an input of the wrong type',
      { method: 'POST', url: '/api/cameras', payload: { id: 'h2', input: { url: 'x' } } },
    ],
    [
      'an unknown field',
      { method: 'POST', url: '/api/cameras', payload: { id: 'h3', input: '/dev/video0', orgId: 'org-b' } },
    ],
    [
      'an unknown setting',
      {
        method: 'POST',
        url: '/api/cameras',
        payload: { id: 'h4', input: '/dev/video0', settings: { shell: 'rm -rf /' } },
      },
    ],
    [
      'settings as an array',
      { method: 'POST', url: '/api/cameras', payload: { id: 'h5', input: '/dev/video0', settings: [] } },
    ],
    [
      'detection too fast',
      {
        method: 'POST',
        url: '/api/cameras',
        payload: { id: 'h6', input: '/dev/video0', settings: { detect: { fps: 60 } } },
      },
    ],
    [
      'an unknown class',
      {
        method: 'POST',
        url: '/api/cameras',
        payload: { id: 'h7', input: '/dev/video0', settings: { detect: { classes: ['dragon'] } } },
      },
    ],
    ['a body that is an array', { method: 'POST', url: '/api/cameras', payload: [1, 2] }],
    [
      'a body that is null',
      {
        method: 'POST',
        url: '/api/cameras',
        payload: 'null',
        headers: { 'content-type': 'application/json' },
      },
    ],
    [
      'an unknown field on PATCH',
      { method: 'PATCH', url: '/api/cameras/front-door', payload: { state: 'online' } },
    ],
    ['a patched id', { method: 'PATCH', url: '/api/cameras/front-door', payload: { id: 'other' } }],
    ['a limit of 0', { method: 'GET', url: '/api/cameras?limit=0' }],
    ['a limit that is not a number', { method: 'GET', url: '/api/cameras?limit=abc' }],
    ['a limit over 500', { method: 'GET', url: '/api/cameras?limit=501' }],
    ['a forged cursor', { method: 'GET', url: '/api/cameras?cursor=eyJmb28iOjF9' }],
    ['a huge cursor', { method: 'GET', url: `/api/cameras?cursor=${'A'.repeat(5000)}` }],
  ];
  for (const [name, request] of hostile) {
    test(`hostile input: ${name} → 4xx, never 500`, async () => {
      const r = await as(owner, request);
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${r.statusCode}: ${r.body}`);
      // Over-long paths are refused by Fastify's router (414) before any route or error handler runs.
      if (r.statusCode !== 414) assert.match((r.json() as ErrorBody).error.code, /^ICEBERG_ERR_/);
    });
  }

  test('the OpenAPI document describes every camera route with its schemas', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<
          string,
          { summary?: string; tags?: string[]; security?: unknown; responses?: Record<string, unknown> }
        >
      >;
    };
    const ops = [
      ['/api/cameras', 'get'],
      ['/api/cameras', 'post'],
      ['/api/cameras/{id}', 'get'],
      ['/api/cameras/{id}', 'patch'],
      ['/api/cameras/{id}', 'delete'],
    ] as const;
    for (const [path, method] of ops) {
      const op = doc.paths[path]?.[method];
      assert.ok(op?.summary, `${method} ${path}`);
      assert.deepEqual(op.tags, ['cameras']);
      assert.deepEqual(op.security, [{ bearer: [] }]);
      assert.ok(op.responses && Object.keys(op.responses).some((s) => s.startsWith('2')));
    }
  });

  test('no response of this suite showed a camera password', () => {
    assert.ok(bodies.length > 50);
    for (const body of bodies) {
      assert.ok(!body.includes(SECRET) && !body.includes('S3cret'), `a response shows the password: ${body}`);
      assert.ok(!body.includes(QUERY_SECRET), `a response shows the query password: ${body}`);
    }
  });
});

describe('redactSecrets', () => {
  const cases: Array<[string, string]> = [
    ['rtsp://admin:pw@host/x', 'rtsp://admin:***@host/x'],
    ['rtsp://admin:p@ss@host:554/x', 'rtsp://admin:***@host:554/x'],
    ['rtsp://admin:pa/ss@host/x', 'rtsp://admin:***@host/x'],
    ['rtsp://admin@host/x', 'rtsp://admin@host/x'],
    ['rtsp://host/x', 'rtsp://host/x'],
    ['http://host/cgi?user=a&pwd=secret&x=1', 'http://host/cgi?user=a&pwd=***&x=1'],
    ['https://host/s?token=abc#f', 'https://host/s?token=***#f'],
    ['/srv/a@b.mp4', '/srv/a@b.mp4'],
    ['error at rtsp://u:p@h/1 and rtmp://v:q@g/2 now', 'error at rtsp://u:***@h/1 and rtmp://v:***@g/2 now'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(redactSecrets(input), expected));
  }
});
