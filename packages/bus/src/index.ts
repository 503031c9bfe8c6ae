export * from './bus.ts';
export * from './kafka-bus.ts';
export * from './kafka-module.ts';
export * from './kafka-options.ts';
export * from './memory-bus.ts';
export * from './partitioner.ts';
export * from './transport.ts';
