import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { ActionDispatcher, type RetryPolicy, SmtpNotifier, type SmtpNotifierOptions } from '../src/index.ts';
import { attemptLog, closedPort, sampleAlert } from './fixtures.ts';
import { leaves, parseMime } from './mime.ts';

interface Mail {
  from: string;
  to: string[];
  raw: Buffer;
}

/** An SMTP server on 127.0.0.1 that keeps what it receives; `nobody@…` is an unknown mailbox. */
function mailServer() {
  const mails: Mail[] = [];
  const refuseNext: number[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const transient = refuseNext.shift();
      if (transient)
        return callback(
          Object.assign(new Error('Mailbox busy, try again later'), { responseCode: transient }),
        );
      if (address.address.startsWith('nobody@'))
        return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  return { server, mails, refuseNext };
}

const fastRetry: Partial<RetryPolicy> = { attempts: 3, initialDelayMs: 20, maxDelayMs: 100, jitter: 0.1 };

/** A "JPEG": the markers, and every byte value, so that any mangling in transit shows. */
const jpeg = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  randomBytes(20_000),
  Buffer.from([0xff, 0xd9]),
]);

describe('e-mail delivery to a real SMTP server', { timeout: 20_000 }, () => {
  const smtp = mailServer();
  let port = 0;
  const notifiers: SmtpNotifier[] = [];

  before(async () => {
    await new Promise<void>((r) => smtp.server.listen(0, '127.0.0.1', r));
    port = (smtp.server.server.address() as { port: number }).port;
  });
  after(async () => {
    for (const n of notifiers) n.close();
    await new Promise<void>((r) => smtp.server.close(() => r()));
  });

  function dispatcher(options: Partial<SmtpNotifierOptions> = {}) {
    const notifier = new SmtpNotifier({
      host: '127.0.0.1',
      port,
      secure: false,
      from: 'Iceberg <alerts@iceberg.test>',
      timeZone: 'Europe/Paris',
      connectionTimeoutMs: 2000,
      greetingTimeoutMs: 2000,
      socketTimeoutMs: 5000,
      ...options,
    });
    notifiers.push(notifier);
    const log = attemptLog();
    return { d: new ActionDispatcher({ notifiers: [notifier], record: log.record, retry: fastRetry }), log };
  }

  test('sends one e-mail to every recipient: subject, text, HTML and the snapshot intact', async () => {
    const { d, log } = dispatcher();
    const to = ['ops@iceberg.test', 'guard@iceberg.test'];
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to }], {
      snapshot: { jpeg, filename: 'alert-0001.jpg' },
      alertUrl: 'https://dvr.example.com/alerts/alert-0001',
    });
    assert.equal(result!.ok, true);
    assert.equal(result!.statusCode, 250);
    assert.deepEqual(
      log.attempts.map((a) => [a.action, a.attempt, a.outcome]),
      [['email ops@iceberg.test,guard@iceberg.test', 1, 'delivered']],
    );

    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.equal(mail.from, 'alerts@iceberg.test');
    assert.deepEqual(mail.to, to);
    const message = parseMime(mail.raw);
    assert.equal(message.headers.get('subject'), '[Iceberg] person entered Loading bay — front-door');
    assert.equal(message.headers.get('x-iceberg-alert-id'), 'alert-0001');
    assert.match(message.headers.get('to')!, /ops@iceberg\.test.*guard@iceberg\.test/);

    const parts = leaves(message);
    const text = parts.find((p) => p.headers.get('content-type')?.startsWith('text/plain'));
    const html = parts.find((p) => p.headers.get('content-type')?.startsWith('text/html'));
    const image = parts.find((p) => p.headers.get('content-type')?.startsWith('image/jpeg'));
    assert.ok(text && html && image, 'a text part, an HTML part and the image');
    const body = text.body.toString('utf8');
    for (const fact of [
      '2025-01-15T09:30:05.000Z',
      '10:30:05', // Paris time
      'Loading bay (rule-7)',
      'front-door',
      'person, score 0.87',
      'https://dvr.example.com/alerts/alert-0001',
    ])
      assert.ok(body.includes(fact), `the text says ${fact}:\n${body}`);
    assert.match(html.body.toString('utf8'), /<img src="cid:snapshot@iceberg"/);
    assert.equal(image.headers.get('content-id'), '<snapshot@iceberg>');
    assert.match(image.headers.get('content-disposition')!, /inline; filename="?alert-0001\.jpg"?/);
    assert.ok(image.body.equals(jpeg), 'the JPEG arrives byte for byte');
  });

  test('an unknown mailbox (550) is not retried, and is recorded', async () => {
    const before = smtp.mails.length;
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['nobody@iceberg.test'] }]);
    assert.equal(result!.outcome, 'failed');
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [[1, 550, 'failed']],
    );
    assert.match(log.attempts[0]!.error!, /550.*No such user/);
    assert.equal(smtp.mails.length, before);
  });

  test('when some recipients are refused, the others get it once and nothing is retried', async () => {
    const before = smtp.mails.length;
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [
      { type: 'email', to: ['ops@iceberg.test', 'nobody@iceberg.test'] },
    ]);
    assert.equal(result!.outcome, 'failed');
    assert.equal(log.attempts.length, 1);
    assert.equal(log.attempts[0]!.statusCode, 550);
    assert.match(log.attempts[0]!.error!, /refused nobody@iceberg\.test.*the others were sent/);
    assert.equal(smtp.mails.length, before + 1);
    assert.deepEqual(smtp.mails.at(-1)!.to, ['ops@iceberg.test']);
  });

  test('a temporary refusal (451) is retried', async () => {
    smtp.refuseNext.push(451);
    const { d, log } = dispatcher();
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['ops@iceberg.test'] }]);
    assert.equal(result!.ok, true);
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [
        [1, 451, 'retrying'],
        [2, 250, 'delivered'],
      ],
    );
  });

  test('SMTP server down: retried, and every attempt recorded', async () => {
    const { d, log } = dispatcher({ port: await closedPort() });
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['ops@iceberg.test'] }]);
    assert.equal(result!.outcome, 'failed');
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [
        [1, null, 'retrying'],
        [2, null, 'retrying'],
        [3, null, 'failed'],
      ],
    );
    for (const a of log.attempts) assert.match(a.error!, /ECONNREFUSED/);
  });

  test('requiring STARTTLS from a server that does not offer it fails without sending', async () => {
    const before = smtp.mails.length;
    const { d, log } = dispatcher({ requireStartTls: true });
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['ops@iceberg.test'] }]);
    assert.equal(result!.ok, false);
    assert.match(log.attempts[0]!.error!, /STARTTLS/);
    assert.equal(log.attempts.length, 1, 'a 5xx reply: not retried');
    assert.equal(smtp.mails.length, before);
  });

  test('a server that never greets: a timeout, retried', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { d, log } = dispatcher({
        port: (silent.address() as { port: number }).port,
        greetingTimeoutMs: 150,
      });
      const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['ops@iceberg.test'] }]);
      assert.equal(result!.outcome, 'failed');
      assert.equal(log.attempts.length, 3);
      for (const a of log.attempts) assert.match(a.error!, /^timeout: ETIMEDOUT/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
