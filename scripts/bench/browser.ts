/**
 * Browser benchmarks, in Debian's headless chromium against the web app the stack serves
 * (web/dist is built first, with the anon key of the Supabase being measured):
 *
 * - hash_mb_per_s: the recording hash (web/src/media/recording_hash.ts: per-slice WebCrypto
 *   SHA-256 in workers) of a 700 MB file (quick: 150 MB), checked against node:crypto;
 *   hash_drop_to_hash_ms: submitRecording called → its hashing phase done, same file;
 *   hash_read_only_mb_per_s / hash_digest_only_mb_per_s: its two halves alone (hashCeiling).
 * - extract_1h_s: audio extraction and chunking (web/src/media/extract.ts) of a 1-hour
 *   H.264/AAC MP4 (quick: 10 minutes).
 * - upload_ratio: the video's bytes / the bytes submitRecording uploads for it (chunks + manifest).
 *   The audio is copied, not re-encoded, so this is the video's total bitrate over its audio
 *   bitrate: the fixture is 1.5 Mb/s video (a 700 MB hour, the product's stated input) and
 *   96 kb/s stereo AAC.
 * - change_to_dom_p50_ms: a progress UPDATE of a jobs row committed in Postgres → the new value
 *   in `[data-job-id="<id>"] [data-progress]` on the jobs page (Realtime broadcast → page).
 *
 * Fixtures are made with ffmpeg once and cached in $TMPDIR/ai-subs-bench.
 * Standalone: `deno run -A scripts/bench/browser.ts [--quick] [--runs N]`.
 */
import { buildWeb } from "../ship/web_build.ts";
import { hashWorkerCount, RECORDING_HASH_SLICE_BYTES } from "../../web/src/media/recording_hash.ts";
import type { Browser } from "playwright-core";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import type { BenchContext, BenchResult, BenchSuite } from "./suite.ts";
import {
  chooseFile,
  type HookWindow,
  launchChromium,
  openAppWithHooks,
} from "../tests/support/browser.ts";
import { adminSql, stackEnv } from "../tests/support/stack_env.ts";
import { join } from "node:path";

const MB = 1_000_000;
const cacheDir = join(Deno.env.get("TMPDIR") ?? "/tmp", "ai-subs-bench");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} failed: ${text.decode(out.stderr).trim()}`);
  return text.decode(out.stdout);
}

/** `bytes` of random data (incompressible, like video) at a cached path. */
async function randomFile(bytes: number, log: (m: string) => void): Promise<string> {
  // Named .mp4 so that submitRecording (the drop → hash figure) accepts it as media.
  const path = join(cacheDir, `random-${bytes}.mp4`);
  if (await exists(path) && (await Deno.stat(path)).size === bytes) return path;
  log(`making ${bytes / MB} MB of random bytes`);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(1 << 20);
  for (let written = 0; written < bytes; written += block.length) {
    for (let i = 0; i < block.length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, i + 65536));
    }
    await file.write(block.subarray(0, Math.min(block.length, bytes - written)));
  }
  file.close();
  return path;
}

/**
 * An H.264/AAC MP4 of `seconds`: one minute of noise pictures (320x180, 10 fps, 1.5 Mb/s) and
 * pink noise (96 kb/s stereo AAC) encoded once, then repeated by stream copy.
 */
async function benchVideo(seconds: number, log: (m: string) => void): Promise<string> {
  const path = join(cacheDir, `video-${seconds}s-320x180-1500k-96k.mp4`);
  if (await exists(path)) return path;
  const segment = join(cacheDir, "segment-60s-320x180-1500k-96k.mp4");
  if (!(await exists(segment))) {
    log("encoding a 60 s noise segment");
    await run(
      "ffmpeg",
      [
        ["-nostdin", "-v", "error", "-y"],
        ["-f", "lavfi", "-i", "nullsrc=s=320x180:r=10,geq=random(1)*255:128:128"],
        ["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.2:r=44100"],
        ["-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
        ["-b:v", "1500k", "-minrate", "1500k", "-maxrate", "1500k", "-bufsize", "1500k"],
        ["-c:a", "aac", "-b:a", "96k", "-ac", "2", "-movflags", "+faststart", segment],
      ].flat(),
    );
  }
  log(`repeating it to ${seconds} s`);
  await run(
    "ffmpeg",
    [
      ["-nostdin", "-v", "error", "-y", "-stream_loop", String(Math.ceil(seconds / 60) - 1)],
      ["-i", segment, "-c", "copy", "-t", String(seconds), "-movflags", "+faststart", path],
    ].flat(),
  );
  return path;
}

/** The recording hash by its definition, independently of web/src/media (node:crypto). */
async function referenceHash(path: string): Promise<string> {
  const SLICE = 8 * 1024 * 1024;
  const file = await Deno.open(path);
  try {
    const outer = createHash("sha256");
    const buffer = new Uint8Array(SLICE);
    while (true) {
      let filled = 0;
      while (filled < SLICE) {
        const n = await file.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      if (filled === 0) break;
      outer.update(createHash("sha256").update(buffer.subarray(0, filled)).digest());
      if (filled < SLICE) break;
    }
    return outer.digest("hex");
  } finally {
    file.close();
  }
}

/**
 * The two halves of the recording hash alone, in the same page with the same number of
 * workers and slices in flight as recording_hash.ts, to show what bounds it on this machine:
 * "read" reads every 8 MiB slice of the File and digests nothing; "digest" digests an 8 MiB
 * buffer already in memory as many times as the file has slices and reads nothing. Worker code
 * of its own (a Blob URL), so it measures the platform, not the app.
 */
const CEILING_WORKER = `
let file = null, buffer = null;
onmessage = async (e) => {
  const m = e.data;
  if (m.file) { file = m.file; buffer = new Uint8Array(m.slice).fill(7); return; }
  if (m.mode === "read") await file.slice(m.start, m.end).arrayBuffer();
  else await crypto.subtle.digest("SHA-256", buffer.subarray(0, m.end - m.start));
  postMessage(0);
};`;

function hashCeiling(
  [source, mode, slice, lanes]: readonly [string, "read" | "digest", number, number],
): Promise<number> {
  const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
  const count = Math.ceil(file.size / slice);
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const workers = Array.from({ length: lanes }, () => new Worker(url));
  for (const w of workers) w.postMessage({ file, slice });
  return new Promise<number>((resolve) => {
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    const give = (w: Worker) => {
      if (next >= count) return;
      const i = next++;
      w.postMessage({ mode, start: i * slice, end: Math.min(file.size, (i + 1) * slice) });
    };
    for (const w of workers) {
      w.onmessage = () => {
        if (++done < count) return give(w);
        const ms = performance.now() - t0;
        for (const x of workers) x.terminate();
        URL.revokeObjectURL(url);
        resolve(file.size / 1e6 / (ms / 1000));
      };
    }
    for (let round = 0; round < 2; round++) for (const w of workers) give(w);
  });
}

/** The previous definition's figure (plain streaming SHA-256 in one worker, 2026-11-22 run). */
const OLD_PLAIN_SHA256_MB_PER_S = 267.1;

async function measureHash(browser: Browser, ctx: BenchContext, notes: string[]) {
  const bytes = ctx.quick ? 150 * MB : 700 * MB;
  const path = await randomFile(bytes, ctx.log);
  const expected = await referenceHash(path);
  const app = await openAppWithHooks(browser, ctx.env.SUPABASE_URL);
  try {
    await chooseFile(app.page, path);
    const speeds: number[] = [];
    const dropToHash: number[] = [];
    let workers = 0;
    for (let i = 0; i < ctx.runs; i++) {
      const r = await app.page.evaluate(async (userId) => {
        const w = globalThis as unknown as HookWindow;
        const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
        const t0 = performance.now();
        const hex = await w.__aiSubsTest.recordingHashOfBlob(file);
        const ms = performance.now() - t0;
        // Drop → hash in the app's own flow: submitRecording (what a drop starts) until it
        // reports the hashing phase done (queue check, worker start, hash). The file is random
        // bytes, so extraction refuses it afterwards; the handle is aborted at once anyway.
        const t1 = performance.now();
        const dropMs = await new Promise<number>((resolve, reject) => {
          let handle: ReturnType<typeof w.__aiSubsTest.submitRecording> | null = null;
          let settled = false;
          handle = w.__aiSubsTest.submitRecording(file, userId, {}, (p) => {
            if (settled) return;
            if (p.phase === "hashing" && p.fraction === 1 || p.phase === "extracting") {
              settled = true;
              resolve(performance.now() - t1);
              queueMicrotask(() => handle?.abort());
            }
          });
          handle.done.then(
            () => !settled && reject(new Error("submitRecording finished without hashing")),
            (e) => !settled && reject(e),
          );
        });
        return { hex, ms, dropMs, workers: navigator.hardwareConcurrency };
      }, app.userId);
      if (r.hex !== expected) {
        throw new Error(`browser recording hash ${r.hex} ≠ reference (node:crypto) ${expected}`);
      }
      workers = r.workers;
      speeds.push(bytes / MB / (r.ms / 1000));
      dropToHash.push(r.dropMs);
      ctx.log(`hash: ${round(speeds.at(-1)!)} MB/s, drop → hash ${round(r.dropMs)} ms`);
    }
    // The app's own worker count for the page's cores.
    const lanes = hashWorkerCount(workers);
    const half = (mode: "read" | "digest") =>
      app.page.evaluate(
        hashCeiling,
        [CEILING_WORKER, mode, RECORDING_HASH_SLICE_BYTES, lanes] as const,
      );
    const readOnly: number[] = [];
    const digestOnly: number[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      readOnly.push(await half("read"));
      digestOnly.push(await half("digest"));
      ctx.log(
        `hash halves: reading alone ${round(readOnly.at(-1)!)} MB/s, ` +
          `digesting alone ${round(digestOnly.at(-1)!)} MB/s`,
      );
    }
    notes.push(
      `hash: ${bytes / MB} MB random file (read from the page cache), recording hash of ` +
        `web/src/media/recording_hash.ts (8 MiB slices, WebCrypto SHA-256 in ` +
        `${lanes} workers, SHA-256 of the slice digests), equal to ` +
        `an independent node:crypto computation; drop → hash = submitRecording called → its ` +
        `hashing phase done (queue_status RPC, workers started, file hashed). The previous ` +
        `definition (plain streaming SHA-256 of the whole file in one worker, WebAssembly) ran ` +
        `at ${OLD_PLAIN_SHA256_MB_PER_S} MB/s here (${
          round(bytes / MB / OLD_PLAIN_SHA256_MB_PER_S, 1)
        } s ` +
        `for this file).`,
    );
    notes.push(
      `hash halves (same page, ${lanes} workers, 2 slices in ` +
        `flight each, 8 MiB slices): reading every slice of the File without digesting ran at ` +
        `${round(median(readOnly))} MB/s; digesting in-memory slices without reading at ` +
        `${round(median(digestOnly))} MB/s. The hash needs both on the same ` +
        `${workers} cores: when each half keeps every core busy, together they run at most ` +
        `1 / (1/read + 1/digest) = ${
          round(1 / (1 / median(readOnly) + 1 / median(digestOnly)))
        } MB/s.`,
    );
    return { speeds, dropToHash, readOnly, digestOnly };
  } finally {
    await app.close();
  }
}

async function measureExtract(browser: Browser, ctx: BenchContext, notes: string[]) {
  const seconds = ctx.quick ? 600 : 3600;
  const path = await benchVideo(seconds, ctx.log);
  const videoBytes = (await Deno.stat(path)).size;
  const app = await openAppWithHooks(browser, ctx.env.SUPABASE_URL);
  try {
    await chooseFile(app.page, path);
    const times: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const r = await app.page.evaluate(async () => {
        const w = globalThis as unknown as HookWindow;
        const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
        const t0 = performance.now();
        const audio = await w.__aiSubsTest.extractAudio(file);
        const ms = performance.now() - t0;
        // The manifest submitRecording uploads beside the chunks (same fields, long paths).
        const manifest = JSON.stringify({
          version: 1,
          source: {
            filename: file.name,
            bytes: file.size,
            sha256: "0".repeat(64),
            duration: audio.duration,
          },
          audio: { codec: audio.codec, container: audio.container, method: audio.method },
          chunks: audio.chunks.map(({ index, name, start, end, overlap_before }) => ({
            index,
            path: `${"0".repeat(36)}/${"0".repeat(36)}/${name}`,
            start,
            end,
            overlap_before,
          })),
        });
        return {
          ms,
          method: audio.method,
          codec: audio.codec,
          duration: audio.duration,
          chunks: audio.chunks.length,
          uploadBytes: audio.chunks.reduce((n, c) => n + c.blob.size, 0) + manifest.length,
        };
      });
      if (r.method !== "remux" || Math.abs(r.duration - seconds) > 1) {
        throw new Error(`unexpected extraction: ${JSON.stringify(r)}`);
      }
      times.push(r.ms / 1000);
      ratios.push(videoBytes / r.uploadBytes);
      ctx.log(
        `extract: ${round(r.ms / 1000, 2)} s, ${r.chunks} chunks, ratio ${round(ratios.at(-1)!)}`,
      );
      if (i === 0) {
        notes.push(
          `extract: ${seconds} s H.264/AAC MP4 of ${round(videoBytes / MB)} MB (1.5 Mb/s video, ` +
            `96 kb/s stereo AAC) → ${r.chunks} ${r.codec} chunks + manifest = ` +
            `${round(r.uploadBytes / MB, 2)} MB (${r.method}, no re-encoding)`,
        );
      }
    }
    return { times, ratios };
  } finally {
    await app.close();
  }
}

async function measureChangeToDom(browser: Browser, ctx: BenchContext, notes: string[]) {
  const sql = adminSql();
  const app = await openAppWithHooks(browser, ctx.env.SUPABASE_URL);
  let jobId: string | undefined;
  try {
    const { page, userId } = app;
    // A processing job of this visitor, written without the engine (no dispatch), shaped like
    // a submitted one (the page validates the rows it reads and would refuse a partial one).
    const media = {
      path: `${userId}/bench/manifest.json`,
      bytes: 1_000_000,
      sha256: "0".repeat(64),
      duration: 600,
    };
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      [{ id: jobId }] = await tx`insert into public.jobs
        (owner_id, filename, media, options, status, stage, stage_message, progress, started_at)
        values (${userId}, 'bench.mp4', ${tx.json(media)}, private.normalize_options('{}'),
          'processing', 'transcribe', 'Transcribing', 0, now()) returning id`;
    });
    await page.reload();
    await page.waitForSelector("body[data-live=true]", { timeout: 20_000 });
    // The cards live in the jobs drawer, which a fresh page keeps closed.
    if (await page.isHidden("#drawer")) await page.click("#open-drawer");
    const selector = `[data-job-id="${jobId}"] [data-progress]`;
    await page.waitForSelector(selector, { timeout: 20_000 });
    await page.evaluate((selector) => {
      const w = globalThis as unknown as { __seen: Record<string, number> };
      w.__seen = {};
      const look = () => {
        const value = document.querySelector(selector)?.getAttribute("data-progress");
        if (value && !(value in w.__seen)) {
          w.__seen[value] = performance.timeOrigin + performance.now();
        }
      };
      new MutationObserver(look).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    }, selector);
    const perRun = ctx.quick ? 8 : 15;
    const p50s: number[] = [];
    let progress = 0;
    for (let i = 0; i < ctx.runs; i++) {
      const latencies: number[] = [];
      for (let j = 0; j < perRun; j++) {
        progress++;
        const t0 = performance.timeOrigin + performance.now();
        await sql`update public.jobs set progress = ${progress}, stage_message = ${`Step ${progress}`}
          where id = ${jobId!}`;
        const handle = await page.waitForFunction(
          (value) => (globalThis as unknown as { __seen: Record<string, number> }).__seen[value],
          String(progress),
          { timeout: 10_000, polling: 20 },
        );
        latencies.push((await handle.jsonValue()) - t0);
        // Spaced like heartbeats: separate changes, not one coalesced burst.
        await new Promise((r) => setTimeout(r, 400));
      }
      p50s.push(median(latencies));
      ctx.log(`change → DOM: p50 ${round(p50s.at(-1)!)} ms (${perRun} updates)`);
    }
    notes.push(
      `change → DOM: ${perRun} progress UPDATEs per run, 400 ms apart, timed from before the ` +
        `UPDATE is sent to the MutationObserver seeing [data-progress] change`,
    );
    return p50s;
  } finally {
    if (jobId) await sql`delete from public.jobs where id = ${jobId}`;
    await sql.end();
    await app.close();
  }
}

/** The browser suite (see the module comment for what each key measures). */
export const browser: BenchSuite = {
  name: "browser",
  async run(ctx: BenchContext): Promise<BenchResult> {
    await Deno.mkdir(cacheDir, { recursive: true });
    ctx.log("browser: building web/dist");
    await buildWeb();
    const chromium = await launchChromium();
    const notes: string[] = [];
    try {
      const { speeds, dropToHash, readOnly, digestOnly } = await measureHash(
        chromium,
        ctx,
        notes,
      );
      const { times, ratios } = await measureExtract(chromium, ctx, notes);
      const domP50s = await measureChangeToDom(chromium, ctx, notes);
      return {
        figures: {
          hash_mb_per_s: round(median(speeds)),
          hash_drop_to_hash_ms: round(median(dropToHash)),
          hash_read_only_mb_per_s: round(median(readOnly)),
          hash_digest_only_mb_per_s: round(median(digestOnly)),
          extract_1h_s: round(median(times), 2),
          upload_ratio: round(median(ratios)),
          change_to_dom_p50_ms: round(median(domP50s)),
        },
        ranges: {
          hash_mb_per_s: range(speeds).map((n) => round(n)) as [number, number],
          hash_drop_to_hash_ms: range(dropToHash).map((n) => round(n)) as [number, number],
          hash_read_only_mb_per_s: range(readOnly).map((n) => round(n)) as [number, number],
          hash_digest_only_mb_per_s: range(digestOnly).map((n) => round(n)) as [number, number],
          extract_1h_s: range(times).map((n) => round(n, 2)) as [number, number],
          upload_ratio: range(ratios).map((n) => round(n)) as [number, number],
          change_to_dom_p50_ms: range(domP50s).map((n) => round(n)) as [number, number],
        },
        targets: {
          hash_mb_per_s: "≥ 1000 MB/s",
          hash_drop_to_hash_ms: "≤ 1000 ms",
          extract_1h_s: "≤ 30 s",
          upload_ratio: "≥ 15",
          change_to_dom_p50_ms: "≤ 250 ms",
        },
        notes: ctx.quick ? ["quick mode: 150 MB hash file, 10-minute video", ...notes] : notes,
      };
    } finally {
      await chromium.close();
    }
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { quick: { type: "boolean", default: false }, runs: { type: "string", default: "3" } },
  });
  const result = await browser.run({
    quick: values.quick,
    runs: Math.max(3, Number(values.runs)),
    env: stackEnv(),
    log: (m) => console.error(`[browser] ${m}`),
  });
  console.log(JSON.stringify(result, null, 2));
}
