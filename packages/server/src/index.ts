export * from './alerts/alert-service.ts';
export * from './alerts/rule-evaluator.ts';
export * from './api-deps.ts';
export * from './http/api.ts';
export * from './http/app.ts';
export * from './live/ws-hub.ts';
export * from './metrics.ts';
export * from './server.ts';
