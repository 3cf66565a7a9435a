/**
 * The hashing half of recording_hash.ts: this worker is given the File once, then slice
 * numbers; for each it reads that slice of the File itself and answers its SHA-256 (WebCrypto).
 * Reading and digesting happen here, off the page's thread, on as many workers as there are
 * cores. Messages in/out: HashWorkerRequest / HashWorkerReply (recording_hash.ts).
 */
import {
  type HashWorkerReply,
  type HashWorkerRequest,
  sliceDigest,
  sliceRange,
} from "./recording_hash.ts";

let blob: Blob | null = null;

function reply(message: HashWorkerReply, transfer: Transferable[] = []) {
  (self as unknown as Worker).postMessage(message, transfer);
}

self.onmessage = async (event: MessageEvent<HashWorkerRequest>) => {
  const message = event.data;
  try {
    if (message.type === "file") {
      blob = message.blob;
    } else if (message.type === "slice") {
      if (!blob) throw new Error("no file was given to the hash worker");
      const [start, end] = sliceRange(blob.size, message.index);
      const digest = await sliceDigest(
        await blob.slice(start, end).arrayBuffer(),
      );
      reply({ type: "digest", index: message.index, digest }, [digest.buffer]);
    }
  } catch (error) {
    const e = error as Error;
    const text = e?.name === "NotReadableError"
      ? "the file could not be read; it may have been moved or changed"
      : String(e?.message ?? error);
    reply({ type: "error", message: text });
  }
};
