export * from './outbox-queue.ts';
export * from './outbox-record.ts';
export * from './outbox-transport.ts';
