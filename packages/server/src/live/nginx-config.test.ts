import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type NginxConfigOptions, renderNginxConfig } from './nginx-config.ts';

const options: NginxConfigOptions = {
  modulePath: '/usr/lib/nginx/modules/ngx_rtmp_module.so',
  pidPath: '/data/live/nginx.pid',
  rtmpBind: '127.0.0.1',
  rtmpPort: 1935,
  hlsPath: '/data/live/hls',
  hlsFragmentSeconds: 1,
  hlsPlaylistSeconds: 6,
  callbackBase: 'http://127.0.0.1:40001/rtmp',
};

describe('renderNginxConfig', () => {
  it('loads the RTMP module and publishes to one HLS application with key checks on loopback', () => {
    const conf = renderNginxConfig(options);
    assert.match(conf, /^load_module "\/usr\/lib\/nginx\/modules\/ngx_rtmp_module\.so";$/m);
    assert.match(conf, /^pid "\/data\/live\/nginx\.pid";$/m);
    assert.match(conf, /listen 127\.0\.0\.1:1935;/);
    assert.match(conf, /application live \{[^}]*hls on;/s);
    assert.match(conf, /hls_path "\/data\/live\/hls";/);
    assert.match(conf, /hls_nested on;/);
    assert.match(conf, /hls_fragment 1s;/);
    assert.match(conf, /hls_playlist_length 6s;/);
    assert.match(conf, /on_publish http:\/\/127\.0\.0\.1:40001\/rtmp\/publish;/);
    assert.match(conf, /on_publish_done http:\/\/127\.0\.0\.1:40001\/rtmp\/publish-done;/);
    assert.match(conf, /on_update http:\/\/127\.0\.0\.1:40001\/rtmp\/update;/);
    // Only this box may play over RTMP (the low-latency relay); there is no http block.
    assert.match(conf, /allow play 127\.0\.0\.1;\s*deny play all;/);
    assert.doesNotMatch(conf, /^\s*http\s*\{/m);
    // One process that dies with its parent: no worker to orphan.
    assert.match(conf, /^master_process off;$/m);
    // Balanced braces: nginx would refuse the file otherwise.
    assert.equal(conf.split('{').length, conf.split('}').length);
  });

  it('writes fractional fragments in ms and an IPv6 bind in brackets', () => {
    const conf = renderNginxConfig({ ...options, hlsFragmentSeconds: 0.5, rtmpBind: '::' });
    assert.match(conf, /hls_fragment 500ms;/);
    assert.match(conf, /listen \[::\]:1935;/);
  });

  it('refuses values that would break out of a directive, and callbacks off loopback', () => {
    assert.throws(
      () => renderNginxConfig({ ...options, hlsPath: '/data/x"; include /etc/passwd; "' }),
      /hlsPath/,
    );
    assert.throws(() => renderNginxConfig({ ...options, hlsPath: '/data/$x' }), /hlsPath/);
    assert.match(
      renderNginxConfig({ ...options, hlsPath: '/data/my videos' }),
      /hls_path "\/data\/my videos";/,
    );
    assert.throws(() => renderNginxConfig({ ...options, modulePath: '/x.so\nhttp {' }), /modulePath/);
    assert.throws(() => renderNginxConfig({ ...options, rtmpPort: 0 }), /port/);
    assert.throws(() => renderNginxConfig({ ...options, rtmpPort: 70000 }), /port/);
    assert.throws(
      () => renderNginxConfig({ ...options, callbackBase: 'http://10.0.0.5:80/rtmp' }),
      /loopback/,
    );
    assert.throws(() => renderNginxConfig({ ...options, hlsFragmentSeconds: 0 }), /duration/);
  });
});
