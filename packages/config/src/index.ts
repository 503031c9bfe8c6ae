export * from './load-config.ts';
export * from './schema.ts';
