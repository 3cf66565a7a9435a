/**
 * Streaming SHA-256 of a recording: this thread reads large slices of the File and transfers
 * them (zero-copy) to a Worker that hashes them with hash-wasm (hash_worker.ts), keeping a few
 * slices in flight so that reading and hashing overlap. Memory stays at a few slices whatever
 * the file size.
 */
import type { PauseGate } from "./pause_gate.ts";

/** 16 MiB slices: few reads and messages, modest memory. */
const SLICE_BYTES = 16 * 1024 * 1024;
/** Slices read ahead of the hasher (memory: this many × SLICE_BYTES). */
const IN_FLIGHT = 3;

export interface HashOptions {
  /** Fraction of the file hashed so far, 0..1. */
  onProgress?: (fraction: number) => void;
  gate?: PauseGate;
  signal?: AbortSignal;
}

/** Lowercase hex SHA-256 of `file`. */
export async function sha256OfFile(file: File, options: HashOptions = {}): Promise<string> {
  const { onProgress, gate, signal } = options;
  signal?.throwIfAborted();
  const worker = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
  let hashed = 0;
  let failed: Error | null = null;
  let wakeReader: (() => void) | null = null;
  let settleDigest!: { resolve: (hex: string) => void; reject: (e: Error) => void };
  const digest = new Promise<string>((resolve, reject) => (settleDigest = { resolve, reject }));
  digest.catch(() => {}); // awaited below; a failure before that is not "unhandled"
  const fail = (error: Error) => {
    failed ??= error;
    settleDigest.reject(error);
    wakeReader?.();
  };
  worker.onmessage = (event: MessageEvent) => {
    const message = event.data as { type: string; bytes?: number; hex?: string; message?: string };
    if (message.type === "hashed") {
      hashed += message.bytes ?? 0;
      onProgress?.(file.size ? hashed / file.size : 1);
      wakeReader?.();
    } else if (message.type === "done") settleDigest.resolve(message.hex!);
    else if (message.type === "error") fail(new Error(`Could not hash the file: ${message.message}`));
  };
  worker.onerror = (event) => fail(new Error(`Could not hash the file: ${event.message}`));
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let sent = 0;
    while (sent < file.size) {
      // Back-pressure: wait while IN_FLIGHT slices are read but not yet hashed.
      while (!failed && sent - hashed >= IN_FLIGHT * SLICE_BYTES) {
        await new Promise<void>((resolve) => (wakeReader = resolve));
      }
      if (failed) throw failed;
      await gate?.passage(signal);
      const buffer = await file.slice(sent, sent + SLICE_BYTES).arrayBuffer();
      if (failed) throw failed;
      const size = buffer.byteLength; // read before the transfer detaches the buffer
      worker.postMessage({ type: "slice", buffer }, [buffer]);
      sent += size;
    }
    worker.postMessage({ type: "end" });
    return await digest;
  } catch (error) {
    if (error instanceof DOMException && error.name === "NotReadableError") {
      throw new Error("The file could not be read; it may have been moved or changed.");
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    worker.terminate();
  }
}
