/**
 * Pausing shared by every phase of a submission: loops `await gate.passage()` between units of
 * work, which returns at once while running and waits while paused. Phases with their own
 * pause (the hash worker, TUS uploads) subscribe to changes instead.
 */
export class PauseGate {
  #paused = false;
  #waiters: (() => void)[] = [];
  #listeners = new Set<(paused: boolean) => void>();

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const listener of this.#listeners) listener(true);
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const wake of this.#waiters.splice(0)) wake();
    for (const listener of this.#listeners) listener(false);
  }

  /** Resolves when not paused; rejects when `signal` aborts meanwhile. */
  passage(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Calls `listener` on every pause and resume until the returned function is called. */
  subscribe(listener: (paused: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
