/**
 * The recording hash (`media.sha256` of a job, the deduplication key): a tree of WebCrypto
 * SHA-256 digests, so slices can be hashed at once on every core.
 *
 *   slices  = the file cut into RECORDING_HASH_SLICE_BYTES (8 MiB = 8,388,608 bytes) pieces,
 *             in order; the last one is shorter (an empty file has no slices)
 *   hash    = lowercase hex of SHA-256( SHA-256(slice 0) ‖ SHA-256(slice 1) ‖ … )
 *
 * i.e. SHA-256 over the concatenated 32-byte digests of the slices, as 64 lowercase hex digits
 * (the shape the database checks). It is not the `sha256sum` of the file: even a one-slice file
 * is hashed twice. Any tool can recompute it (GNU coreutils + xxd):
 *
 *   split -b 8388608 -d FILE s. && for p in s.*; do sha256sum "$p" | head -c 64 | xxd -r -p; done | sha256sum
 *
 * One module for every caller, with no browser- or Deno-only API at its top level:
 * - the web app: `recordingHashOfBlob(file)` hashes in Workers (recording_hash_worker.ts), each
 *   reading its own slices of the File (a File is passed to a Worker without copying);
 * - scripts, tests and the CLI (Deno): `recordingHashOfBytes(bytes)` or
 *   `recordingHashOfReader(size, read)` hash in this thread with WebCrypto, reading slices in
 *   order (a file on disk: `read` seeks an open Deno.FsFile to `start` and reads `end - start`
 *   bytes) while several are digested at once (WebCrypto digests are asynchronous).
 */

/** The fixed slice size of the tree. Changing it changes every hash (and breaks dedup). */
export const RECORDING_HASH_SLICE_BYTES = 8 * 1024 * 1024;

/** How many slices there are in a file of `size` bytes. */
export function sliceCount(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`bad size ${size}`);
  }
  return Math.ceil(size / RECORDING_HASH_SLICE_BYTES);
}

/** [start, end) of slice `index` of a file of `size` bytes. */
export function sliceRange(size: number, index: number): [number, number] {
  const start = index * RECORDING_HASH_SLICE_BYTES;
  return [start, Math.min(size, start + RECORDING_HASH_SLICE_BYTES)];
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** SHA-256 of one slice (32 bytes). */
export async function sliceDigest(bytes: BufferSource): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** The recording hash from the slices' digests, in slice order. */
export async function combineSliceDigests(
  digests: Uint8Array[],
): Promise<string> {
  const all = new Uint8Array(digests.length * 32);
  digests.forEach((d, i) => {
    if (d.length !== 32) {
      throw new RangeError(
        `slice ${i}: a digest has 32 bytes, not ${d.length}`,
      );
    }
    all.set(d, i * 32);
  });
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", all)));
}

export interface RecordingHashOptions {
  /** Fraction of the bytes hashed so far, 0..1. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Waited on before each slice is read (pause/resume). */
  gate?: { passage(signal?: AbortSignal): Promise<void> };
}

/**
 * The recording hash of `size` bytes read with `read(start, end)`, in this thread. Slices are
 * read one after another, in order (so `read` may seek and read a single open file), while up
 * to `concurrency` of them are being digested.
 */
export async function recordingHashOfReader(
  size: number,
  read: (start: number, end: number) => Promise<BufferSource>,
  options: RecordingHashOptions & { concurrency?: number } = {},
): Promise<string> {
  const count = sliceCount(size);
  const digests: Uint8Array[] = new Array(count);
  const lanes = Math.max(1, options.concurrency ?? 4);
  const pending = new Set<Promise<void>>();
  let hashed = 0;
  try {
    for (let index = 0; index < count; index++) {
      options.signal?.throwIfAborted();
      await options.gate?.passage(options.signal);
      const [start, end] = sliceRange(size, index);
      const bytes = await read(start, end);
      const digesting: Promise<void> = sliceDigest(bytes).then((digest) => {
        digests[index] = digest;
        hashed += end - start;
        options.onProgress?.(hashed / size);
        pending.delete(digesting);
      });
      pending.add(digesting);
      if (pending.size >= lanes) await Promise.race(pending);
    }
    await Promise.all(pending);
  } catch (error) {
    // The digests still running end on their own; their failures are this one's.
    for (const p of pending) p.catch(() => {});
    throw error;
  }
  options.signal?.throwIfAborted();
  return await combineSliceDigests(digests);
}

/** The recording hash of bytes in memory. */
export function recordingHashOfBytes(
  bytes: Uint8Array<ArrayBuffer>,
  concurrency = 4,
): Promise<string> {
  return recordingHashOfReader(
    bytes.length,
    (start, end) => Promise.resolve(bytes.subarray(start, end)),
    { concurrency },
  );
}

/** Messages of recording_hash_worker.ts. */
export type HashWorkerRequest =
  | { type: "file"; blob: Blob }
  | { type: "slice"; index: number };
export type HashWorkerReply =
  | { type: "digest"; index: number; digest: Uint8Array }
  | { type: "error"; message: string };

/**
 * Workers used by recordingHashOfBlob: one per core, at least 2, at most 8 (`cores`: this
 * thread's navigator.hardwareConcurrency, or another page's).
 */
export function hashWorkerCount(
  cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
    ?.hardwareConcurrency ?? 2,
): number {
  return Math.max(2, Math.min(8, cores));
}

/** Slices a worker is given ahead of the one it is hashing, so reading overlaps hashing. */
const PER_WORKER_IN_FLIGHT = 2;

/**
 * The recording hash of a File or Blob, hashed in Workers: each worker reads the slices it is
 * given straight from the Blob and answers their digests; this thread only hands out slice
 * numbers (the next to the first worker that answers) and combines the digests. Memory:
 * about workers × 2 slices.
 */
export async function recordingHashOfBlob(
  blob: Blob,
  options: RecordingHashOptions & { workers?: number } = {},
): Promise<string> {
  const { onProgress, gate, signal } = options;
  signal?.throwIfAborted();
  const count = sliceCount(blob.size);
  if (count === 0) return await combineSliceDigests([]);
  const workerCount = Math.max(
    1,
    Math.min(options.workers ?? hashWorkerCount(), count),
  );
  const digests: Uint8Array[] = new Array(count);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  let hashed = 0;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const finished = new Promise<void>((
    resolve,
    reject,
  ) => (settle = { resolve, reject }));
  let failed = false;
  const fail = (error: unknown) => {
    failed = true;
    settle.reject(error);
  };
  const give = async (worker: Worker) => {
    if (next >= count || failed) return;
    const index = next++;
    try {
      await gate?.passage(signal);
    } catch (e) {
      return fail(e);
    }
    if (!failed) {
      worker.postMessage({ type: "slice", index } satisfies HashWorkerRequest);
    }
  };
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (let w = 0; w < workerCount; w++) {
      const worker = new Worker(
        new URL("./recording_hash_worker.ts", import.meta.url),
        {
          type: "module",
        },
      );
      workers.push(worker);
      worker.onmessage = (event: MessageEvent<HashWorkerReply>) => {
        const reply = event.data;
        if (reply.type === "error") {
          return fail(new Error(`Could not hash the file: ${reply.message}`));
        }
        digests[reply.index] = reply.digest;
        const [start, end] = sliceRange(blob.size, reply.index);
        hashed += end - start;
        onProgress?.(hashed / blob.size);
        if (++done === count) settle.resolve();
        else void give(worker);
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        fail(new Error(`Could not hash the file: ${event.message}`));
      };
      worker.postMessage({ type: "file", blob } satisfies HashWorkerRequest);
    }
    for (let round = 0; round < PER_WORKER_IN_FLIGHT; round++) {
      for (const worker of workers) await give(worker);
    }
    await finished;
    return await combineSliceDigests(digests);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const worker of workers) worker.terminate();
  }
}
