import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { ActionDispatcher, SmtpNotifier, WebhookNotifier } from '../src/index.ts';
import { attemptLog, sampleAlert } from './fixtures.ts';

describe('several actions on one alert', { timeout: 20_000 }, () => {
  let received = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  const broken = createServer((_req, res) => res.writeHead(500).end('down'));
  let smtpPort = 0;
  let hookUrl = '';
  let mail: SmtpNotifier;

  before(async () => {
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    smtpPort = (smtp.server.address() as { port: number }).port;
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(broken.address() as { port: number }).port}/hook`;
    mail = new SmtpNotifier({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      from: 'alerts@iceberg.test',
    });
  });
  after(async () => {
    mail.close();
    broken.closeAllConnections();
    await new Promise((r) => broken.close(r));
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  test('a failing webhook does not hold up the e-mail', async () => {
    const log = attemptLog();
    const d = new ActionDispatcher({
      notifiers: [new WebhookNotifier({ timeoutMs: 2000 }), mail],
      record: log.record,
      retry: { attempts: 3, initialDelayMs: 150, maxDelayMs: 1000, jitter: 0 },
    });
    const done = d.dispatch(sampleAlert(), [
      { type: 'webhook', url: hookUrl, secret: 'x' },
      { type: 'email', to: ['ops@iceberg.test'] },
    ]);
    assert.equal(d.pending(), 2);
    const results = await done;
    assert.deepEqual(
      results.map((r) => [r.type, r.outcome, r.attempts]),
      [
        ['webhook', 'failed', 3],
        ['email', 'delivered', 1],
      ],
    );
    assert.equal(received, 1);
    const emailAt = log.attempts.findIndex((a) => a.action.startsWith('email'));
    const lastHook = log.attempts.findLastIndex((a) => a.action.startsWith('webhook'));
    assert.ok(emailAt < lastHook, 'the e-mail went out while the webhook was still being retried');
    assert.equal(d.pending(), 0);
  });
});
