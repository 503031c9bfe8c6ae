import { EventEmitter } from 'node:events';

/**
 * A typed wrapper over Node's EventEmitter: the map of event names to payloads is checked at
 * compile time, so that the pipeline's components are joined by events whose shape is known.
 */
// biome-ignore lint/suspicious/noExplicitAny: listener argument lists vary per event
export type EventMap = Record<string, (...args: any[]) => void>;

export class TypedEmitter<E extends EventMap> {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.emitter.on(event, listener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.emitter.once(event, listener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.emitter.off(event, listener);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    return this.emitter.emit(event, ...args);
  }

  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
