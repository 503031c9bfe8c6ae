import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sampleAlert } from '../test/fixtures.ts';
import { alertEmail, alertSubject, formatTime } from './email-message.ts';

describe('alert e-mail', () => {
  test('subject names what happened and the camera once', () => {
    assert.equal(alertSubject(sampleAlert()), '[Iceberg] person entered Loading bay — front-door');
    assert.equal(
      alertSubject(sampleAlert({ message: 'car stayed\r\nin Drive' })),
      '[Iceberg] car stayed in Drive — front-door',
    );
  });

  test('time in ISO and in the given time zone', () => {
    const at = Date.UTC(2025, 0, 15, 9, 30, 5);
    assert.equal(formatTime(at), '2025-01-15T09:30:05.000Z');
    assert.match(
      formatTime(at, 'Europe/Paris'),
      /^2025-01-15T09:30:05\.000Z \(15 Jan 2025, 10:30:05 .*Europe\/Paris\)$/,
    );
    assert.equal(formatTime(at, 'Not/AZone'), '2025-01-15T09:30:05.000Z');
  });

  test('text and HTML carry the facts; HTML is escaped and only http(s) links are linked', () => {
    const alert = sampleAlert({ ruleName: '<b>Bay</b> & "dock"' });
    const mail = alertEmail(alert, {
      alertUrl: 'https://dvr.example.com/alerts/alert-0001',
      withSnapshot: true,
    });
    for (const fact of [
      'Loading bay',
      'rule-7',
      'front-door',
      'person',
      '0.87',
      'https://dvr.example.com/alerts/alert-0001',
    ])
      assert.ok(mail.text.includes(fact), `text has ${fact}`);
    assert.match(mail.text, /Rule: +<b>Bay<\/b> & "dock" \(rule-7\)/);
    assert.match(mail.html, /&lt;b&gt;Bay&lt;\/b&gt; &amp; &quot;dock&quot;/);
    assert.match(mail.html, /<img src="cid:snapshot@iceberg"/);
    assert.match(mail.html, /<a href="https:\/\/dvr.example.com\/alerts\/alert-0001">/);
    const sneaky = alertEmail(alert, { alertUrl: 'javascript:alert(1)' });
    assert.doesNotMatch(sneaky.html, /javascript/);
    assert.doesNotMatch(sneaky.html, /<img/);
  });
});
