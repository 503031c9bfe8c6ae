export * from './classes.ts';
export * from './common.ts';
export * from './detection.ts';
export * from './json-schema.ts';
export * from './parse.ts';
export * from './status.ts';
export * from './topics.ts';
export * from './track.ts';
