/**
 * FIFO queue with O(1) removal of any node. Doubly linked so that a waiter whose acquire
 * timeout fires (or whose AbortSignal aborts) can leave from the middle without a scan.
 * Invariant: `size` equals the number of linked nodes; a removed node has `queue === null`.
 */
export class QueueNode<T> {
  prev: QueueNode<T> | null = null;
  next: QueueNode<T> | null = null;
  queue: WaiterQueue<T> | null = null;
  readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
}

export class WaiterQueue<T> {
  #head: QueueNode<T> | null = null;
  #tail: QueueNode<T> | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(value: T): QueueNode<T> {
    const node = new QueueNode(value);
    node.queue = this;
    node.prev = this.#tail;
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  shift(): T | undefined {
    const node = this.#head;
    if (!node) return undefined;
    this.remove(node);
    return node.value;
  }

  /** Removes `node` if it is still in this queue; returns whether it was. */
  remove(node: QueueNode<T>): boolean {
    if (node.queue !== this) return false;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = null;
    node.queue = null;
    this.#size--;
    return true;
  }

  /** Removes and returns every value, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let v = this.shift(); v !== undefined; v = this.shift()) out.push(v);
    return out;
  }
}
