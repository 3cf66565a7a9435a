import assert from "node:assert/strict";
import { CHUNK_SECONDS, OVERLAP_SECONDS } from "./chunk_plan.ts";
import { ffmpegChunkArgs, ffmpegChunks, parseProbe } from "./ffmpeg_plan.ts";

Deno.test("ffmpeg plan: the probe report gives duration and audio codec", () => {
  const log = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'talk.mp4':
  Duration: 01:02:03.45, start: 0.000000, bitrate: 650 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 96x64, 600 kb/s
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 48 kb/s`;
  assert.deepEqual(parseProbe(log), { duration: 3723.45, codec: "aac", kbps: 48 });
  assert.deepEqual(parseProbe("Duration: N/A"), { duration: null, codec: null, kbps: null });
});

Deno.test("ffmpeg plan: a 12-minute AAC recording is copied into two overlapping M4A chunks", () => {
  const { target, copy, chunks } = ffmpegChunks(720.02, "aac", 48);
  assert.equal(copy, true);
  assert.equal(target.extension, "m4a");
  assert.deepEqual(chunks.map((c) => [c.name, c.from, c.to]), [
    ["chunk-000.m4a", 0, CHUNK_SECONDS],
    ["chunk-001.m4a", CHUNK_SECONDS - OVERLAP_SECONDS, 720.02],
  ]);
  const args = ffmpegChunkArgs("in.mp4", chunks[1], copy, "out.m4a");
  assert.equal(args[args.indexOf("-ss") + 1], "597");
  assert.ok(Math.abs(Number(args[args.indexOf("-t") + 1]) - 123.02) < 1e-9);
  assert.ok(args.includes("copy") && args.at(-1) === "out.m4a");
});

Deno.test("ffmpeg plan: the tail slack stays in the last chunk; other codecs are encoded", () => {
  // 1201.5 s: two chunks, the second ending at the recording's end, not at 1200 s.
  const { chunks } = ffmpegChunks(1201.5, "mp3", 128);
  assert.equal(chunks.length, 2);
  assert.equal(chunks[1].to, 1201.5);
  const pcm = ffmpegChunks(30, "pcm_s16le");
  assert.equal(pcm.copy, false);
  assert.equal(pcm.target.extension, "m4a");
  assert.ok(
    ffmpegChunkArgs("in.wav", pcm.chunks[0], false, "o.m4a").join(" ").includes(
      "-c:a aac -b:a 64k -ac 1",
    ),
  );
});
