import assert from "node:assert/strict";
import * as server from "../../../supabase/functions/prepare/step.ts";
import { Manifest } from "../../../supabase/functions/_shared/engine/contract.ts";
import {
  CHUNK_BYTES,
  CHUNK_SECONDS,
  chunkCount,
  chunkSecondsFor,
  chunksOfPacket,
  manifestChunk,
  OVERLAP_SECONDS,
} from "./chunk_plan.ts";
import { parseProbe } from "./ffmpeg_probe.ts";

Deno.test("chunk plan: the browser cuts where the server expects", () => {
  assert.equal(CHUNK_SECONDS, server.CHUNK_SECONDS);
  assert.equal(OVERLAP_SECONDS, server.OVERLAP_SECONDS);
});

Deno.test("chunk plan: AAC packets of a 20 min 3 s recording make 3 overlapping chunks", () => {
  const duration = 1203;
  const count = chunkCount(duration);
  assert.equal(count, 3);
  const packet = 1024 / 48_000;
  const first: number[] = [];
  const last: number[] = [];
  for (let t = 0; t < duration; t += packet) {
    for (const i of chunksOfPacket(t, count)) {
      first[i] ??= t;
      last[i] = t + packet;
    }
  }
  const chunks = first.map((f, i) => manifestChunk(i, `u/j/chunk-${i}.m4a`, f, last[i]));
  assert.equal(chunks[0].start, 0);
  assert.ok(Math.abs(chunks[0].end - 600) < 0.03, `chunk 0 ends at ${chunks[0].end}`);
  for (const i of [1, 2]) {
    assert.ok(
      Math.abs(chunks[i].start - (i * 600 - 3)) < 0.03,
      `chunk ${i} starts ${chunks[i].start}`,
    );
    assert.ok(Math.abs(chunks[i].overlap_before - 3) < 0.03);
    // The server rejects chunks longer than CHUNK_SECONDS + 2 × overlap + 1.
    assert.ok(chunks[i].end - chunks[i].start <= CHUNK_SECONDS + OVERLAP_SECONDS + 0.03);
  }
  assert.ok(Math.abs(chunks[2].end - duration) < 0.03);
  // What the browser uploads is a manifest the server accepts.
  Manifest.parse({ version: 1, source: { filename: "a.mp4", duration }, chunks });
});

Deno.test("chunk plan: one chunk for short recordings; late packets stay in the last", () => {
  assert.equal(chunkCount(0.5), 1);
  assert.equal(chunkCount(600), 1);
  // An hour whose container says 3600.02 s is 6 chunks, not 6 and a sliver.
  assert.equal(chunkCount(3600.02), 6);
  assert.equal(chunkCount(3603), 7);
  assert.deepEqual(chunksOfPacket(3600.01, 6), [5]);
  assert.deepEqual(chunksOfPacket(598, 1), [0]);
  assert.deepEqual(chunksOfPacket(598, 2), [0, 1]);
  assert.deepEqual(chunksOfPacket(596.9, 2), [0]);
  assert.deepEqual(chunksOfPacket(1300, 2), [1]);
  assert.deepEqual(chunksOfPacket(-0.02, 2), [0]);
});

Deno.test("chunk plan: manifest times are non-negative and ordered", () => {
  const c = manifestChunk(0, "p", -0.021, 12.5);
  assert.deepEqual(c, { index: 0, path: "p", start: 0, end: 12.5, overlap_before: 0 });
});

Deno.test("chunks stay under 24 MB (OpenAI's 25 MB, Storage's 50 MB) at any copied bitrate", () => {
  // Up to about 310 kbit/s the 10-minute chunks already fit.
  assert.deepEqual(chunkSecondsFor(0), CHUNK_SECONDS);
  assert.deepEqual(chunkSecondsFor(320_000 / 8 - 1000), CHUNK_SECONDS);
  for (const kbps of [320, 512, 640, 1411, 4608]) {
    const rate = kbps * 125;
    const seconds = chunkSecondsFor(rate);
    assert(seconds < CHUNK_SECONDS && seconds >= 60, `${kbps} kbit/s: ${seconds} s`);
    const count = chunkCount(3 * 3600, seconds);
    // The longest chunk: a full window, the overlap and the tail slack.
    const longest = (seconds + OVERLAP_SECONDS + 2) * rate;
    assert(longest <= CHUNK_BYTES || seconds === 60, `${kbps} kbit/s: ${longest} bytes`);
    assert(count * seconds >= 3 * 3600 - 2, `${kbps} kbit/s: ${count} chunks`);
  }
  // Packets are placed by the same length; the manifest's overlap follows it.
  assert.deepEqual(chunksOfPacket(299, 10, 300), [0, 1]);
  assert.deepEqual(chunksOfPacket(301, 10, 300), [1]);
  assert.deepEqual(manifestChunk(1, "c", 297, 600, 300).overlap_before, 3);
});

Deno.test("ffmpeg's report gives the audio bitrate that sizes copied chunks", () => {
  const log = `Input #0, avi, from '/in/x.avi':
  Duration: 01:02:03.50, start: 0.000000, bitrate: 1500 kb/s
  Stream #0:0: Video: mpeg4 (Simple Profile), yuv420p, 640x480, 1200 kb/s, 25 fps
  Stream #0:1: Audio: mp3 (U[0][0][0] / 0x0055), 44100 Hz, stereo, fltp, 320 kb/s (default)
`;
  assert.deepEqual(parseProbe(log), { duration: 3723.5, codec: "mp3", kbps: 320 });
  assert.deepEqual(
    parseProbe("  Stream #0:0: Audio: pcm_s16le, 44100 Hz, 2 channels, s16").kbps,
    null,
  );
});
