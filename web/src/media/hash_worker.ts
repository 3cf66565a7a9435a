/**
 * The hashing half of hash.ts: slices of a file arrive as transferred ArrayBuffers (no copy) and
 * are fed to hash-wasm here, while the main thread already reads the next ones. Reading and
 * hashing sit on different threads because a Blob read is delivered on the thread that asked
 * for it: in one thread, hashing would stall the read and the two would take turns.
 * Messages in: {type: "slice", buffer} (in file order), {type: "end"}.
 * Messages out: {type: "hashed", bytes} after each slice, {type: "done", hex}, {type: "error", message}.
 */
import { createSHA256, type IHasher } from "hash-wasm";

let hasher: Promise<IHasher> | null = null;

self.onmessage = async (event: MessageEvent) => {
  const message = event.data as { type: string; buffer?: ArrayBuffer };
  try {
    hasher ??= createSHA256().then((h) => {
      h.init();
      return h;
    });
    const h = await hasher;
    if (message.type === "slice" && message.buffer) {
      h.update(new Uint8Array(message.buffer));
      postMessage({ type: "hashed", bytes: message.buffer.byteLength });
    } else if (message.type === "end") {
      postMessage({ type: "done", hex: h.digest("hex") });
    }
  } catch (error) {
    postMessage({ type: "error", message: String((error as Error)?.message ?? error) });
  }
};
