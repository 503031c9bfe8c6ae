export * from './bounded-queue.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './stats.ts';
export * from './typed-emitter.ts';
