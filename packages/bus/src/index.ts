export * from './bus.ts';
export * from './memory-bus.ts';
export * from './partitioner.ts';
export * from './transport.ts';
