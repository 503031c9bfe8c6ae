export * from './action-dispatcher.ts';
export * from './email-message.ts';
export * from './notifier.ts';
export * from './smtp-notifier.ts';
export * from './webhook-notifier.ts';
export * from './webhook-signature.ts';
