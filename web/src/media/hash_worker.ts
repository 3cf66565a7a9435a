/**
 * SHA-256 of a File off the main thread. Large slices are read while the previous one is hashed
 * (reading is I/O in the browser process, hashing is WASM here), so the two overlap.
 * Messages in: {type: "start", file}, {type: "pause"}, {type: "resume"}.
 * Messages out: {type: "progress", bytes}, {type: "done", hex}, {type: "error", message}.
 */
import { createSHA256 } from "hash-wasm";

/** 16 MiB: few enough reads for speed, small enough to keep memory flat on 2 GB files. */
const SLICE_BYTES = 16 * 1024 * 1024;

let paused = false;
let wake: (() => void) | null = null;

async function hashFile(file: File): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  let next = file.slice(0, SLICE_BYTES).arrayBuffer();
  for (let offset = 0; offset < file.size; offset += SLICE_BYTES) {
    const current = await next;
    const after = offset + SLICE_BYTES;
    if (after < file.size) next = file.slice(after, after + SLICE_BYTES).arrayBuffer();
    hasher.update(new Uint8Array(current));
    postMessage({ type: "progress", bytes: Math.min(after, file.size) });
    while (paused) await new Promise<void>((resolve) => (wake = resolve));
  }
  return hasher.digest("hex");
}

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { type: string; file?: File };
  if (message.type === "pause") paused = true;
  else if (message.type === "resume") {
    paused = false;
    wake?.();
    wake = null;
  } else if (message.type === "start" && message.file) {
    hashFile(message.file).then(
      (hex) => postMessage({ type: "done", hex }),
      (error) => postMessage({ type: "error", message: String(error?.message ?? error) }),
    );
  }
};
