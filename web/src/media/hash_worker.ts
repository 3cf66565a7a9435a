/**
 * The hashing half of hash.ts: slices of a file arrive as transferred ArrayBuffers (no copy) and
 * are fed to the SHA-256 of sha256.ts here, while the main thread already reads the next ones.
 * Reading and hashing sit on different threads because a Blob read is delivered on the thread
 * that asked for it: in one thread, hashing would stall the read and the two would take turns.
 * Messages in: {type: "slice", buffer} (in file order), {type: "end"}.
 * Messages out: {type: "hashed", bytes} after each slice, {type: "done", hex}, {type: "error", message}.
 */
import { Sha256 } from "./sha256.ts";

let hasher: Promise<Sha256> | null = null;

self.onmessage = async (event: MessageEvent) => {
  const message = event.data as { type: string; buffer?: ArrayBuffer };
  try {
    const h = await (hasher ??= Sha256.create());
    if (message.type === "slice" && message.buffer) {
      h.update(new Uint8Array(message.buffer));
      postMessage({ type: "hashed", bytes: message.buffer.byteLength });
    } else if (message.type === "end") {
      postMessage({ type: "done", hex: h.digestHex() });
    }
  } catch (error) {
    postMessage({ type: "error", message: String((error as Error)?.message ?? error) });
  }
};
