/**
 * A first-in first-out queue between a producer and one consumer, with a capacity: `push`
 * waits while the queue is full (back-pressure), `shift` waits while it is empty. `close()`
 * lets the consumer drain what is left and then receive `undefined`.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly waitingForSpace: Array<() => void> = [];
  private waitingForItem: ((item: T | undefined) => void) | null = null;
  private closed = false;

  constructor(private readonly capacity: number) {
    if (capacity < 1) throw new RangeError('capacity must be at least 1');
  }

  get length(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    if (this.closed) throw new Error('the queue is closed');
    while (this.items.length >= this.capacity)
      await new Promise<void>((resolve) => this.waitingForSpace.push(resolve));
    if (this.waitingForItem) {
      const deliver = this.waitingForItem;
      this.waitingForItem = null;
      deliver(item);
    } else this.items.push(item);
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async shift(): Promise<T | undefined> {
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.waitingForSpace.shift()?.();
      return item;
    }
    if (this.closed) return undefined;
    return new Promise((resolve) => {
      this.waitingForItem = resolve;
    });
  }

  close(): void {
    this.closed = true;
    if (this.waitingForItem && this.items.length === 0) {
      const deliver = this.waitingForItem;
      this.waitingForItem = null;
      deliver(undefined);
    }
  }
}
