export * from './alert-decision.ts';
export * from './geometry.ts';
export * from './rule-schema.ts';
export * from './rule-state.ts';
export * from './rules-engine.ts';
export * from './schedule.ts';
