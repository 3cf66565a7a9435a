/** The order of a submission (submission.ts) on recorded stand-ins for its services. */
import assert from "node:assert/strict";
import type { ExtractedAudio } from "./media/extract.ts";
import { NoAudioError } from "./media/extract.ts";
import { PauseGate } from "./media/pause_gate.ts";
import {
  runSubmission,
  SubmissionCancelled,
  type SubmissionServices,
  type SubmitProgress,
  UploadRefused,
} from "./submission.ts";

const video = new File([new Uint8Array(1000)], "talk.mp4", { type: "video/mp4" });

function audioOf(sizes: number[]): ExtractedAudio {
  return {
    duration: sizes.length * 600,
    audioStart: 0,
    codec: "aac",
    container: "mp4",
    method: "remux",
    chunks: sizes.map((size, index) => ({
      index,
      name: `chunk-${index}.m4a`,
      blob: new Blob([new Uint8Array(size)], { type: "audio/mp4" }),
      start: index * 600,
      end: (index + 1) * 600,
      overlap_before: index ? 5 : 0,
    })),
  };
}

/** Services that record every call; `overrides` change one of them. */
function recorder(overrides: Partial<SubmissionServices> = {}) {
  const calls: string[] = [];
  const manifests: unknown[] = [];
  const rows: unknown[] = [];
  const removed: string[][] = [];
  const services: SubmissionServices = {
    queueStatus: () => (calls.push("queue"), Promise.resolve({ accepting: true })),
    hash: (_file, o) => {
      calls.push("hash");
      o.onProgress?.(0.5);
      return Promise.resolve("ab".repeat(32));
    },
    extract: () => (calls.push("extract"), Promise.resolve(audioOf([300, 100]))),
    uploadChunk: (path, blob, o) => {
      calls.push(`upload ${path}`);
      o.onProgress(blob.size / 2);
      o.onProgress(blob.size);
      return Promise.resolve();
    },
    uploadManifest: (path, json) => {
      calls.push(`manifest ${path}`);
      manifests.push(JSON.parse(json));
      return Promise.resolve();
    },
    insertJob: (row) => {
      calls.push("insert");
      rows.push(row);
      return Promise.resolve({
        data: { id: "job-1", cached_from: null, cached_at: null },
        error: null,
      });
    },
    remove: (paths) => (removed.push(paths), Promise.resolve()),
    newId: () => "up-1",
    ...overrides,
  };
  return { services, calls, manifests, rows, removed };
}

function submit(
  services: SubmissionServices,
  options: { file?: File; gate?: PauseGate; signal?: AbortSignal } = {},
) {
  const progress: SubmitProgress[] = [];
  const done = runSubmission(
    options.file ?? video,
    "user-1",
    { language: "en" },
    (p) => progress.push(p),
    options.gate ?? new PauseGate(),
    options.signal ?? new AbortController().signal,
    services,
  );
  return { done, progress };
}

Deno.test("queue, hash, extract, chunks in order, then the manifest, then the job row", async () => {
  const r = recorder();
  const { done, progress } = submit(r.services);
  assert.deepEqual(await done, { jobId: "job-1", cachedFrom: null, cachedAt: null });
  assert.deepEqual(r.calls, [
    "queue",
    "hash",
    "extract",
    "upload user-1/up-1/chunk-0.m4a",
    "upload user-1/up-1/chunk-1.m4a",
    "manifest user-1/up-1/manifest.json",
    "insert",
  ]);
  const manifest = r.manifests[0] as { chunks: { path: string; overlap_before: number }[] };
  assert.deepEqual(manifest.chunks.map((c) => [c.path, c.overlap_before]), [
    ["user-1/up-1/chunk-0.m4a", 0],
    ["user-1/up-1/chunk-1.m4a", 5],
  ]);
  assert.deepEqual(r.rows, [{
    filename: "talk.mp4",
    media: {
      path: "user-1/up-1/manifest.json",
      bytes: 1000,
      sha256: "ab".repeat(32),
      duration: 1200,
    },
    options: { language: "en" },
  }]);
  // Phases in order, each one's fractions never going back; uploads weighed by bytes.
  const phases = [...new Set(progress.map((p) => p.phase))];
  assert.deepEqual(phases, ["queue", "hashing", "extracting", "uploading", "submitting"]);
  for (const phase of phases) {
    const fractions = progress.filter((p) => p.phase === phase).map((p) => p.fraction);
    assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), phase);
  }
  const uploading = progress.filter((p) => p.phase === "uploading");
  assert.ok(uploading.some((p) => p.fraction === 150 / 400 && p.detail === "Chunk 1 of 2"));
  assert.ok(uploading.some((p) => p.fraction === 350 / 400 && p.detail === "Chunk 2 of 2"));
  assert.equal(r.removed.length, 0);
});

Deno.test("a file that is not media, or empty, is refused before any request", async () => {
  const r = recorder();
  const text = new File(["hello"], "notes.txt", { type: "text/plain" });
  await assert.rejects(submit(r.services, { file: text }).done, /audio or video file/);
  const empty = new File([], "talk.mp4", { type: "video/mp4" });
  await assert.rejects(submit(r.services, { file: empty }).done, /empty/);
  assert.deepEqual(r.calls, []);
});

Deno.test("a full system refuses before the file is read", async () => {
  const r = recorder({
    queueStatus: () => Promise.resolve({ accepting: false, message: "3 jobs are processing." }),
  });
  const error = await submit(r.services).done.catch((e) => e);
  assert.ok(error instanceof UploadRefused);
  assert.equal(error.code, "queue_full");
  assert.equal(error.message, "3 jobs are processing.");
  assert.deepEqual(r.calls, []);
});

Deno.test("a file without audio is refused with no_audio, nothing uploaded", async () => {
  const r = recorder({
    extract: () => Promise.reject(new NoAudioError("This video has no sound.")),
  });
  const error = await submit(r.services).done.catch((e) => e);
  assert.ok(error instanceof UploadRefused);
  assert.equal(error.code, "no_audio");
  assert.ok(!r.calls.some((c) => c.startsWith("upload")));
});

Deno.test("a refused job row removes every object uploaded for it", async () => {
  const r = recorder({
    insertJob: () =>
      Promise.resolve({
        data: null,
        error: { code: "PT429", hint: "user_queue_full", message: "You already have 2 jobs." },
      }),
  });
  const error = await submit(r.services).done.catch((e) => e);
  assert.ok(error instanceof UploadRefused);
  assert.equal(error.code, "queue_full");
  assert.deepEqual(r.removed, [[
    "user-1/up-1/chunk-0.m4a",
    "user-1/up-1/chunk-1.m4a",
    "user-1/up-1/manifest.json",
  ]]);
});

Deno.test("paused between chunks, nothing more is sent until resumed; abort ends it", async () => {
  const gate = new PauseGate();
  const controller = new AbortController();
  const r = recorder({
    uploadChunk: (path) => {
      r.calls.push(`upload ${path}`);
      gate.pause(); // the user pauses during the first chunk
      return Promise.resolve();
    },
  });
  const { done } = submit(r.services, { gate, signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(r.calls.filter((c) => c.startsWith("upload")), [
    "upload user-1/up-1/chunk-0.m4a",
  ]);
  controller.abort(new SubmissionCancelled());
  const error = await done.catch((e) => e);
  assert.ok(error instanceof SubmissionCancelled);
  assert.deepEqual(r.removed, [["user-1/up-1/chunk-0.m4a"]]);
  assert.ok(!r.calls.includes("insert"));
});
