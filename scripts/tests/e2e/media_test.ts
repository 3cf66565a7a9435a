/**
 * End to end, the browser media pipeline (web/src/upload.ts, web/src/media/) in Debian's
 * chromium against the stack: a 12-minute H.264/AAC video is hashed, its audio copied out into
 * two overlapping M4A chunks plus a manifest, uploaded with TUS through a pause, a resume and a
 * dropped connection, and the job completes on the offline engine with words from both chunks
 * at the right times. Also: a full queue refuses before any upload and at insert (the race),
 * a container mediabunny cannot read (AVI) goes through ffmpeg.wasm, and PCM (WAV) is encoded
 * to Opus with WebCodecs.
 *
 * Needs web/dist built (the test runner builds it before this stage).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Page, Route } from "playwright-core";
import { Manifest } from "../../../supabase/functions/_shared/engine/contract.ts";
import { makeSpeech } from "../../ship/asr/fixtures.ts";
import {
  chooseFile,
  type HookWindow,
  launchChromium,
  openAppWithHooks,
  startSubmission,
  submissionOutcome,
} from "../support/browser.ts";
import { adminSql, serviceClient, stackEnv } from "../support/stack_env.ts";
import { makeSpokenVideo, rewrap } from "../support/video_fixtures.ts";
import { join } from "node:path";

/** The recording hash by its definition (8 MiB slices, SHA-256 of their digests), node:crypto. */
function treeHashReference(bytes: Uint8Array): string {
  const outer = createHash("sha256");
  for (let start = 0; start < bytes.length; start += 8 * 1024 * 1024) {
    outer.update(
      createHash("sha256").update(bytes.subarray(start, start + 8 * 1024 * 1024)).digest(),
    );
  }
  return outer.digest("hex");
}

const near = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance;

// A counter keeps each run's recording new (the dedup cache would answer an old one at once).
const RUN = Date.now() % 100_000;
const FIRST = `The baker opens his shop before sunrise and the smell of fresh bread drifts along ` +
  `the quiet street. Number ${RUN}.`;
const SECOND = "Children carry their books to school and talk about the games they will play.";

const progressLog = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as HookWindow).__progress);

Deno.test("media: 12-minute video → 2 audio chunks over TUS with pause, resume and a dropped connection → completed job", async () => {
  const env = stackEnv();
  const sql = adminSql();
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-media-e2e-" });
  const browser = await launchChromium();
  try {
    // Speech in both chunks: near the start, and after the 10-minute cut.
    const video = await makeSpokenVideo(join(dir, "lecture.mp4"), {
      duration: 720,
      speech: [[4, FIRST], [640, SECOND]],
      videoBitrate: "600k",
      audioBitrate: "48k",
    });
    const app = await openAppWithHooks(browser, env.SUPABASE_URL);
    const { page, userId } = app;
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));

    // TUS traffic: the first PATCH is held until the page has paused (then the page aborts it),
    // the next one is dropped as by a broken connection, the rest go through.
    const tusRequests: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/storage/v1/upload/resumable")) tusRequests.push(r.method());
    });
    const abortedPatches: string[] = [];
    page.on("requestfailed", (r) => {
      if (r.method() === "PATCH") abortedPatches.push(r.failure()?.errorText ?? "?");
    });
    let patches = 0;
    let firstPatchSeen!: () => void;
    const firstPatch = new Promise<void>((resolve) => (firstPatchSeen = resolve));
    let releaseFirst!: () => void;
    const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
    await page.route("**/storage/v1/upload/resumable/**", async (route: Route) => {
      if (route.request().method() !== "PATCH") return await route.continue();
      patches++;
      if (patches === 1) {
        firstPatchSeen();
        await firstReleased;
        await route.continue().catch(() => {}); // the page aborted it when pausing
      } else if (patches === 2) {
        await route.abort("connectionreset");
      } else await route.continue();
    });

    await chooseFile(page, video.path);
    await startSubmission(page, { language: "en" });
    await firstPatch;
    await page.evaluate(() => (globalThis as unknown as HookWindow).__handle.pause());
    releaseFirst();
    assert(
      await page.evaluate(() => (globalThis as unknown as HookWindow).__handle.paused),
      "handle.paused is false after pause()",
    );
    // Pausing stops the PATCH in flight (the server keeps what it got; resume asks for it).
    for (let i = 0; i < 40 && abortedPatches.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(abortedPatches.length === 1, `pause did not abort the PATCH in flight`);
    const duringPause = tusRequests.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert(
      tusRequests.length === duringPause,
      `TUS requests while paused: ${tusRequests.slice(duringPause).join(", ")}`,
    );
    await page.evaluate(() => (globalThis as unknown as HookWindow).__handle.resume());
    const outcome = await submissionOutcome(page);
    assert(outcome.ok, `submission failed: ${JSON.stringify(outcome)}`);
    assert(outcome.cachedFrom === null, "a new recording was answered from the cache");

    // Phases in order, each ending at 1.
    const progress = await progressLog(page);
    const phases = [...new Set(progress.map((p) => p.phase))];
    assert(
      phases.join() === "queue,hashing,extracting,uploading,submitting",
      `phases: ${phases.join()}`,
    );
    for (const phase of phases) {
      const last = progress.filter((p) => p.phase === phase).at(-1)!;
      assert(last.fraction === 1, `${phase} ended at ${last.fraction}`);
    }
    // After the dropped PATCH, tus-js-client asked the server for its offset (HEAD) and went on.
    const afterDrop = tusRequests.slice(tusRequests.indexOf("PATCH") + 1);
    assert(afterDrop.includes("HEAD"), `no HEAD after the failed PATCH: ${tusRequests.join(",")}`);
    assert(patches >= 4, `expected retried PATCHes, saw ${patches}`);

    // What reached Storage: 2 chunks + manifest, far smaller than the video.
    const [job] = await sql`select media, status from public.jobs where id = ${outcome.jobId}`;
    const manifestPath = job.media.path as string;
    assert(
      manifestPath.startsWith(`${userId}/`),
      `manifest outside the user folder: ${manifestPath}`,
    );
    const folder = manifestPath.slice(0, manifestPath.lastIndexOf("/") + 1);
    const objects = await sql`select name, (metadata->>'size')::bigint as size
      from storage.objects where bucket_id = 'media' and name like ${folder + "%"} order by name`;
    assert(objects.length === 3, `objects: ${objects.map((o) => o.name).join(", ")}`);
    const uploaded = objects.reduce((n, o) => n + Number(o.size), 0);
    assert(
      uploaded * 20 < video.bytes,
      `uploaded ${uploaded} bytes of a ${video.bytes}-byte video`,
    );

    const storage = serviceClient().storage.from("media");
    const { data: manifestBlob, error } = await storage.download(manifestPath);
    if (error) throw error;
    const manifest = Manifest.parse(JSON.parse(await manifestBlob.text()));
    assert(near(manifest.source.duration, 720, 0.5), `duration ${manifest.source.duration}`);
    assert(manifest.source.sha256 === job.media.sha256, "manifest and job disagree on sha256");
    // The recording hash computed independently (node:crypto, not web/src/media).
    const sha256 = treeHashReference(await Deno.readFile(video.path));
    assert(job.media.sha256 === sha256, `browser recording hash ${job.media.sha256} ≠ ${sha256}`);
    assert(manifest.audio?.codec === "aac", `codec ${manifest.audio?.codec}`);
    const [c0, c1] = manifest.chunks;
    assert(manifest.chunks.length === 2, `${manifest.chunks.length} chunks`);
    assert(c0.start === 0 && near(c0.end, 600, 0.1), `chunk 0: ${JSON.stringify(c0)}`);
    assert(near(c1.start, 597, 0.1) && near(c1.overlap_before, 3, 0.1), JSON.stringify(c1));
    assert(near(c1.end, 720, 0.5), `chunk 1 ends ${c1.end}`);
    // The chunk files hold what the manifest says (measured by ffprobe, not by our code).
    for (const chunk of manifest.chunks) {
      assert(chunk.path.endsWith(".m4a"), chunk.path);
      const { data } = await storage.download(chunk.path);
      const file = join(dir, `chunk-${chunk.index}.m4a`);
      await Deno.writeFile(file, new Uint8Array(await data!.arrayBuffer()));
      const probed = await probe(file);
      assert(
        probed.codec === "aac" && !probed.hasVideo,
        `chunk ${chunk.index}: ${JSON.stringify(probed)}`,
      );
      assert(
        near(probed.duration, chunk.end - chunk.start, 0.2),
        `chunk ${chunk.index} lasts ${probed.duration} s, manifest says ${chunk.end - chunk.start}`,
      );
    }

    // The job completes on the offline engine; the second chunk's words sit after 10:00.
    const deadline = Date.now() + 240_000;
    let status = job.status as string;
    while (Date.now() < deadline && ["pending", "processing"].includes(status)) {
      await new Promise((r) => setTimeout(r, 1000));
      [{ status }] = await sql`select status from public.jobs where id = ${outcome.jobId}`;
    }
    const [ended] = await sql`select status, error_code, error_message from public.jobs
      where id = ${outcome.jobId}`;
    assert(ended.status === "completed", `job ended ${JSON.stringify(ended)}`);
    const [{ content: srt }] = await sql`select content from public.job_outputs
      where job_id = ${outcome.jobId} and format = 'srt'`;
    const cues = (srt as string).split(/\r?\n\r?\n/).filter(Boolean);
    const early = cues.filter((c) => /^\d+\r?\n00:00:/.test(c)).join(" ").toLowerCase();
    const late = cues.filter((c) => /^\d+\r?\n00:1[01]:/.test(c)).join(" ").toLowerCase();
    assert(["baker", "bread", "street", "shop"].some((w) => early.includes(w)), `early: ${srt}`);
    assert(["children", "books", "school", "games"].some((w) => late.includes(w)), `late: ${srt}`);
    assert(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
    await app.close();
  } finally {
    await browser.close();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("media: a full system refuses before the upload, and at insert when the race is lost", async () => {
  const env = stackEnv();
  const sql = adminSql();
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-media-e2e-" });
  const browser = await launchChromium();
  const [{ active_job_limit: limit }] = await sql`select active_job_limit from private.settings`;
  const blockers: string[] = [];
  try {
    const wav = join(dir, "short.wav");
    await makeSpeech(`Queue test number ${RUN}.`, wav);
    const app = await openAppWithHooks(browser, env.SUPABASE_URL);
    const { page, userId } = app;
    // Fill the system: active jobs up to the limit (inserted without dispatch).
    const [{ active }] = await sql`select count(*)::int as active from public.jobs
      where status in ('pending', 'processing')`;
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      for (let i = active; i < limit; i++) {
        const [{ id }] = await tx`insert into public.jobs (owner_id, filename, media, status)
          values (${userId}, 'blocker.wav', ${
          tx.json({ path: `${userId}/x/blocker.wav` })
        }, 'pending') returning id`;
        blockers.push(id);
      }
    });
    const tusCalls: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/storage/v1/")) tusCalls.push(`${r.method()} ${r.url()}`);
    });
    await chooseFile(page, wav);

    await startSubmission(page);
    const refused = await submissionOutcome(page);
    assert(!refused.ok && refused.code === "queue_full", `not refused: ${JSON.stringify(refused)}`);
    assert(/try again/i.test(refused.message), `message: ${refused.message}`);
    assert(tusCalls.length === 0, `uploaded while full: ${tusCalls.join(", ")}`);

    // The race: the check said yes, the insert says no (PT429) — refused the same way, and
    // the orphaned upload is removed.
    await page.route("**/rest/v1/rpc/queue_status", (route) =>
      route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({ active: 0, limit, accepting: true, message: null }),
      }));
    await startSubmission(page);
    const raced = await submissionOutcome(page);
    assert(!raced.ok && raced.code === "queue_full", `race not refused: ${JSON.stringify(raced)}`);
    assert(tusCalls.some((c) => c.startsWith("POST")), "the race case did not upload");
    let left = 1;
    for (let i = 0; i < 20 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      [{ left }] = await sql`select count(*)::int as left from storage.objects
        where bucket_id = 'media' and name like ${userId + "/%"}`;
    }
    assert(left === 0, `${left} orphaned objects stay after a refused insert`);
    await app.close();
  } finally {
    if (blockers.length) await sql`delete from public.jobs where id = any(${blockers})`;
    await browser.close();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("media: what cannot be copied: AVI through ffmpeg.wasm, PCM WAV encoded to Opus", async () => {
  const env = stackEnv();
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-media-e2e-" });
  const browser = await launchChromium();
  try {
    const mp4 = await makeSpokenVideo(join(dir, "clip.mp4"), {
      duration: 20,
      speech: [[1, "Every morning the small town wakes up slowly."]],
      videoBitrate: "300k",
      audioBitrate: "64k",
    });
    const avi = join(dir, "clip.avi");
    await rewrap(mp4.path, avi);
    const wav = join(dir, "voice.wav");
    await makeSpeech("The teacher writes the date on the board.", wav);
    const app = await openAppWithHooks(browser, env.SUPABASE_URL);
    const extract = async (path: string) => {
      await chooseFile(app.page, path);
      return await app.page.evaluate(async () => {
        const w = globalThis as unknown as HookWindow;
        const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
        const audio = await w.__aiSubsTest.extractAudio(file);
        return {
          ...audio,
          chunks: audio.chunks.map(({ blob, ...c }) => ({
            ...c,
            bytes: blob.size,
            type: blob.type,
          })),
        };
      });
    };

    const fromAvi = await extract(avi);
    assert(fromAvi.method === "ffmpeg", `AVI: method ${fromAvi.method}`);
    assert(near(fromAvi.duration, 20, 0.5), `AVI: duration ${fromAvi.duration}`);
    assert(fromAvi.chunks.length === 1, `AVI: ${fromAvi.chunks.length} chunks`);
    const [aviChunk] = fromAvi.chunks;
    assert(
      aviChunk.type === "audio/mp4" && aviChunk.name.endsWith(".m4a"),
      JSON.stringify(aviChunk),
    );
    assert(fromAvi.codec === "aac", `AAC in AVI is copied, not re-encoded: ${fromAvi.codec}`);
    assert(aviChunk.bytes > 1000 && aviChunk.bytes < mp4.bytes, JSON.stringify(aviChunk));

    const wavBytes = (await Deno.stat(wav)).size;
    const fromWav = await extract(wav);
    assert(fromWav.method === "transcode" && fromWav.codec === "opus", JSON.stringify(fromWav));
    const [wavChunk] = fromWav.chunks;
    assert(
      wavChunk.type === "audio/ogg" && wavChunk.name.endsWith(".ogg"),
      JSON.stringify(wavChunk),
    );
    assert(wavChunk.bytes * 3 < wavBytes, `Opus ${wavChunk.bytes} B vs WAV ${wavBytes} B`);
    // The Ogg file is real Opus of the same length (read by ffprobe, not by our code).
    const ogg = join(dir, "voice.ogg");
    const bytes = await app.page.evaluate(async () => {
      const w = globalThis as unknown as HookWindow;
      const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
      const audio = await w.__aiSubsTest.extractAudio(file);
      return Array.from(new Uint8Array(await audio.chunks[0].blob.arrayBuffer()));
    });
    await Deno.writeFile(ogg, new Uint8Array(bytes));
    const probed = await probe(ogg);
    assert(probed.codec === "opus", `ogg holds ${probed.codec}`);
    assert(
      near(probed.duration, fromWav.duration, 0.2),
      `${probed.duration} vs ${fromWav.duration}`,
    );
    await app.close();
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Codec, duration and whether there is a picture, as ffprobe reads the file. */
async function probe(
  path: string,
): Promise<{ codec: string; duration: number; hasVideo: boolean }> {
  const { stdout, success } = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type,codec_name:format=duration",
      "-of",
      "json",
      path,
    ],
  }).output();
  if (!success) throw new Error(`ffprobe could not read ${path}`);
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const streams = info.streams as { codec_type: string; codec_name: string }[];
  return {
    codec: streams.find((s) => s.codec_type === "audio")?.codec_name ?? "none",
    duration: Number(info.format.duration),
    hasVideo: streams.some((s) => s.codec_type === "video"),
  };
}
