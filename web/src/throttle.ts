/**
 * At most one call per key per interval, without losing the last one: a call inside the
 * interval is not dropped but deferred to the interval's end (later calls replace it), so the
 * final state of a burst is always shown. Used for the per-job checklist refetch.
 */
export class KeyedThrottle {
  #due = new Map<string, number>();
  #pending = new Map<string, { timer: ReturnType<typeof setTimeout>; run: () => void }>();

  constructor(private readonly intervalMs: number, private readonly now = () => Date.now()) {}

  /** Runs `run` now if `key` ran more than an interval ago, else once at the interval's end. */
  call(key: string, run: () => void): void {
    const wait = (this.#due.get(key) ?? 0) - this.now();
    if (wait <= 0) {
      this.#fire(key, run);
      return;
    }
    const pending = this.#pending.get(key);
    if (pending) {
      pending.run = run;
      return;
    }
    const entry = {
      run,
      timer: setTimeout(() => this.#fire(key, entry.run), wait),
    };
    this.#pending.set(key, entry);
  }

  /** Forgets `key` (its deferred call is cancelled). */
  drop(key: string): void {
    clearTimeout(this.#pending.get(key)?.timer);
    this.#pending.delete(key);
    this.#due.delete(key);
  }

  #fire(key: string, run: () => void): void {
    clearTimeout(this.#pending.get(key)?.timer);
    this.#pending.delete(key);
    this.#due.set(key, this.now() + this.intervalMs);
    run();
  }
}
