import assert from "node:assert/strict";
import { Manifest as ServerManifest } from "../../../supabase/functions/_shared/engine/contract.ts";
import { manifestChunk } from "./chunk_plan.ts";
import { buildManifest, jobMedia } from "./manifest.ts";

Deno.test("manifest: what a client uploads is what the prepare step reads", () => {
  const folder = "user-1/upload-1";
  const chunks = [
    { ...manifestChunk(0, "chunk-000.m4a", 0, 600.02), name: "chunk-000.m4a" },
    { ...manifestChunk(1, "chunk-001.m4a", 597, 720), name: "chunk-001.m4a" },
  ];
  const source = { filename: "talk.mp4", bytes: 52_000_000, sha256: "a".repeat(64), duration: 720 };
  const manifest = buildManifest(folder, source, {
    codec: "aac",
    container: "mp4",
    method: "ffmpeg",
  }, chunks);
  const parsed = ServerManifest.parse(JSON.parse(JSON.stringify(manifest)));
  assert.deepEqual(parsed.chunks.map((c) => c.path), [
    `${folder}/chunk-000.m4a`,
    `${folder}/chunk-001.m4a`,
  ]);
  assert.equal(parsed.chunks[1].overlap_before, 3);
  assert.deepEqual(jobMedia(folder, source), {
    path: `${folder}/manifest.json`,
    bytes: 52_000_000,
    sha256: "a".repeat(64),
    duration: 720,
  });
});
