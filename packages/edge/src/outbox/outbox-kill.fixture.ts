// Test fixture (outbox-transport.test.ts): writes through an outbox whose link is down, reports
// how many writes were acknowledged, keeps writing and kills itself with SIGKILL mid-stream.
import type { BusTransport } from '@iceberg/bus';
import { OutboxTransport } from './outbox-transport.ts';

const down: BusTransport = {
  name: 'down',
  produce: async () => {
    throw new Error('broker unreachable');
  },
  consume: async () => ({ close: async () => undefined }),
  close: async () => undefined,
};
const outbox = new OutboxTransport(down, {
  dir: process.argv[2]!,
  maxBytes: 10 << 20,
  shedOrder: ['iceberg.detections'],
  segmentBytes: 8192,
});
const rec = (i: number) => ({
  topic: 'iceberg.tracks',
  key: `org/cam-${i % 3}`,
  value: Buffer.from(JSON.stringify({ i })),
  headers: {},
});
let acknowledged = 0;
for (let i = 0; i < 150; i++) {
  await outbox.produce([rec(i)]);
  acknowledged++;
}
process.stdout.write(`acknowledged ${acknowledged}\n`, () => {
  for (let i = 150; i < 400; i++) void outbox.produce([rec(i)]);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2);
});
