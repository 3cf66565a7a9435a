/** Streaming SHA-256 of a recording, computed in a Worker (hash_worker.ts). */
import type { PauseGate } from "./pause_gate.ts";

export interface HashOptions {
  /** Fraction of the file hashed so far, 0..1. */
  onProgress?: (fraction: number) => void;
  gate?: PauseGate;
  signal?: AbortSignal;
}

/** Lowercase hex SHA-256 of `file`. */
export function sha256OfFile(file: File, options: HashOptions = {}): Promise<string> {
  const { onProgress, gate, signal } = options;
  signal?.throwIfAborted();
  const worker = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
  return new Promise<string>((resolve, reject) => {
    const unsubscribe = gate?.subscribe((paused) =>
      worker.postMessage({ type: paused ? "pause" : "resume" })
    );
    const finish = () => {
      unsubscribe?.();
      signal?.removeEventListener("abort", onAbort);
      worker.terminate();
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent) => {
      const message = event.data as { type: string; bytes?: number; hex?: string; message?: string };
      if (message.type === "progress") onProgress?.(file.size ? (message.bytes ?? 0) / file.size : 1);
      else if (message.type === "done") {
        finish();
        resolve(message.hex!);
      } else if (message.type === "error") {
        finish();
        reject(new Error(`Could not read the file: ${message.message}`));
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`Could not read the file: ${event.message}`));
    };
    worker.postMessage({ type: "start", file });
    if (gate?.paused) worker.postMessage({ type: "pause" });
  });
}
