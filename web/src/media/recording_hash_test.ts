import { createHash } from "node:crypto";
import {
  combineSliceDigests,
  RECORDING_HASH_SLICE_BYTES as S,
  recordingHashOfBlob,
  recordingHashOfBytes,
  recordingHashOfReader,
  sliceCount,
} from "./recording_hash.ts";

function assertEquals(actual: unknown, expected: unknown, msg = "") {
  if (actual !== expected) {
    throw new Error(`${msg} expected ${expected}, got ${actual}`);
  }
}

/** The definition, computed independently with node:crypto. */
function reference(bytes: Uint8Array): string {
  const outer = createHash("sha256");
  for (let start = 0; start < bytes.length; start += S) {
    outer.update(
      createHash("sha256").update(bytes.subarray(start, start + S)).digest(),
    );
  }
  return outer.digest("hex");
}

function pseudoRandom(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("slice size is the documented 8 MiB", () => {
  assertEquals(S, 8_388_608);
  assertEquals(sliceCount(0), 0);
  assertEquals(sliceCount(1), 1);
  assertEquals(sliceCount(S), 1);
  assertEquals(sliceCount(S + 1), 2);
});

Deno.test("empty file: SHA-256 of no digests", async () => {
  const empty = await recordingHashOfBytes(new Uint8Array(0));
  assertEquals(empty, createHash("sha256").digest("hex"));
  assertEquals(empty, reference(new Uint8Array(0)));
  assertEquals(await combineSliceDigests([]), empty);
});

Deno.test("short files and every slice boundary match node:crypto", async () => {
  const data = pseudoRandom(3 * S + 5, 7);
  const sizes = [
    1,
    2,
    31,
    32,
    33,
    55,
    56,
    63,
    64,
    65,
    1000,
    S - 1,
    S,
    S + 1,
    2 * S - 1,
    2 * S,
    2 * S + 1,
    3 * S,
    3 * S + 5,
  ];
  for (const size of sizes) {
    const bytes = data.subarray(0, size);
    assertEquals(
      await recordingHashOfBytes(bytes),
      reference(bytes),
      `size ${size}:`,
    );
  }
});

Deno.test("not the plain SHA-256 of the file, and order of slices matters", async () => {
  const bytes = pseudoRandom(2 * S, 3);
  const hash = await recordingHashOfBytes(bytes);
  const plain = createHash("sha256").update(bytes).digest("hex");
  if (hash === plain) throw new Error("tree hash equals the plain SHA-256");
  const swapped = new Uint8Array(bytes.length);
  swapped.set(bytes.subarray(S), 0);
  swapped.set(bytes.subarray(0, S), S);
  if (hash === (await recordingHashOfBytes(swapped))) {
    throw new Error("slice order ignored");
  }
  const oneByte = new Uint8Array([0x61]);
  assertEquals(
    await recordingHashOfBytes(oneByte),
    createHash("sha256").update(createHash("sha256").update(oneByte).digest())
      .digest("hex"),
  );
});

Deno.test("reader: concurrency, progress, abort", async () => {
  const bytes = pseudoRandom(5 * S + 123, 11);
  const expected = reference(bytes);
  for (const concurrency of [1, 2, 8]) {
    const seen: number[] = [];
    const starts: number[] = [];
    let reading = 0;
    const got = await recordingHashOfReader(
      bytes.length,
      async (start, end) => {
        // One read at a time, in file order (a reader may seek one open file).
        assertEquals(reading++, 0, "reads in flight:");
        starts.push(start);
        await new Promise((r) => setTimeout(r, (end % 3) * 2));
        reading--;
        return bytes.slice(start, end);
      },
      { concurrency, onProgress: (f) => seen.push(f) },
    );
    assertEquals(got, expected, `concurrency ${concurrency}:`);
    assertEquals(starts.join(), [0, 1, 2, 3, 4, 5].map((i) => i * S).join());
    assertEquals(seen.length, 6);
    assertEquals(seen.at(-1), 1);
  }
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  let threw = false;
  await recordingHashOfReader(
    bytes.length,
    (s, e) => Promise.resolve(bytes.slice(s, e)),
    {
      signal: controller.signal,
    },
  ).catch(() => (threw = true));
  assertEquals(threw, true, "aborted hash:");
});

Deno.test("Blob in workers equals the definition", async () => {
  const bytes = pseudoRandom(3 * S + 77, 5);
  for (const size of [0, 10, S, S + 1, bytes.length]) {
    const part = bytes.subarray(0, size);
    let last = 0;
    const got = await recordingHashOfBlob(new Blob([part]), {
      workers: 3,
      onProgress: (f) => (last = f),
    });
    assertEquals(got, reference(part), `blob of ${size}:`);
    if (size) assertEquals(last, 1);
  }
});

Deno.test("a file on disk through one open Deno.FsFile (seek + read)", async () => {
  const bytes = pseudoRandom(2 * S + 999, 9);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    using file = await Deno.open(path);
    const got = await recordingHashOfReader(
      bytes.length,
      async (start, end) => {
        const buffer = new Uint8Array(end - start);
        await file.seek(start, Deno.SeekMode.Start);
        for (let filled = 0; filled < buffer.length;) {
          const n = await file.read(buffer.subarray(filled));
          if (n === null) throw new Error("file shorter than its size");
          filled += n;
        }
        return buffer;
      },
    );
    assertEquals(got, reference(bytes));
  } finally {
    await Deno.remove(path);
  }
});
