/**
 * The hosted limits (supabase/functions/_shared/engine/limits.ts) for the worst cases of a 3-hour
 * recording: peak memory and CPU time of each step's largest unit of work, each in a cold
 * Deno process as a function worker would run it.
 *
 * Cases:
 * - `manifest`: what the web app uploads, 18 chunks and their manifest in the stack's Storage;
 *   prepare checks the manifest (download, parse, listing), transcribe reads the largest chunk
 *   the web app makes (an MP3 at 320 kbit/s cut by chunkSecondsFor, under CHUNK_BYTES: 24 MB);
 *   merge stitches 18
 *   chunk transcripts, render writes every output of the 3-hour transcript;
 * - `wav`: one 44.1 kHz stereo 16-bit WAV of 3 hours (1.9 GB) and `mp3`: one 128 kbit/s MP3
 *   of 3 hours (173 MB) — single objects only a paid plan's object limit admits, so they are
 *   served by scripts/tests/support/range_server.ts, which answers Range requests as Storage does
 *   (the WAV generated per request, never stored); prepare probes the file and transcribe
 *   cuts the middle 10-minute window (the WAV one downmixed to fit OpenAI's 25 MB).
 *
 * Memory is what the stack's function host limits: V8 heap in use plus array buffers
 * (`Deno.memoryUsage()` heapUsed + external), sampled every 5 ms during the work and once
 * after it (absolute, the process's baseline included, as a hosted worker counts it). The
 * process's resident-set high-water mark (VmHWM) is reported beside it as an upper bound.
 * CPU is user + system time across the work (node:process cpuUsage), module loading excluded.
 *
 * Standalone: `deno run -A scripts/bench/step_limits.ts [--quick]` against the running stack
 * (`--quick`: 1 hour instead of 3, same keys).
 */
import { cpuUsage } from "node:process";
import { createClient } from "@supabase/supabase-js";
import type { BenchContext, BenchResult, BenchSuite } from "./suite.ts";
import { StepIO } from "../../supabase/functions/_shared/engine/contract.ts";
import {
  AUDIO_UPLOAD_BYTES,
  FUNCTION_CPU_MS,
  FUNCTION_MEMORY_BYTES,
} from "../../supabase/functions/_shared/engine/limits.ts";
import { runTextStep, writeTextStepInputs } from "./step_cpu.ts";
import { median } from "./statistics.ts";
import { planChunks, prepareStep, probeDuration } from "../../supabase/functions/prepare/step.ts";
import {
  chunkSecondsFor,
  OVERLAP_SECONDS,
  TAIL_SLACK_SECONDS,
} from "../../web/src/media/chunk_plan.ts";
import { readPieces } from "../../supabase/functions/transcribe/step.ts";
import type { StepContext } from "../../supabase/functions/_shared/engine/step_runtime.ts";

type Case = "manifest" | "wav" | "mp3";
type Step = "prepare" | "transcribe" | "merge" | "render";
const CASES: Record<Case, Step[]> = {
  manifest: ["prepare", "transcribe", "merge", "render"],
  wav: ["prepare", "transcribe"],
  mp3: ["prepare", "transcribe"],
};

interface Sample {
  cpu_ms: number;
  memory_mb: number;
  rss_hwm_mb: number;
  /** Largest upload to the engine (transcribe), bytes. */
  upload_bytes?: number;
}

const mb = (bytes: number) => bytes / 2 ** 20;
const cpuMs = () => {
  const c = cpuUsage();
  return (c.user + c.system) / 1000;
};
const hwm = () =>
  Number(/^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? 0) *
  1024;

/** Runs `work` measuring CPU and peak memory (one cold process does one of these). */
async function measure(work: () => Promise<number | void>): Promise<Sample> {
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  let peak = used();
  const timer = setInterval(() => (peak = Math.max(peak, used())), 5);
  const t0 = cpuMs();
  let upload: number | void;
  try {
    upload = await work();
  } finally {
    clearInterval(timer);
  }
  const cpu = cpuMs() - t0;
  peak = Math.max(peak, used());
  return {
    cpu_ms: cpu,
    memory_mb: mb(peak),
    rss_hwm_mb: mb(hwm()),
    ...(typeof upload === "number" ? { upload_bytes: upload } : {}),
  };
}

interface Input {
  url?: string;
  seconds: number;
  file?: string;
  /** manifest prepare: where it is and whose. */
  supabaseUrl?: string;
  serviceKey?: string;
  owner?: string;
  path?: string;
}

async function measureOnce(step: Step, input: Input): Promise<Sample> {
  switch (step) {
    case "prepare": {
      if (input.path) {
        const supabase = createClient(input.supabaseUrl!, input.serviceKey!, {
          auth: { persistSession: false, autoRefreshToken: false },
        });
        const ctx = {
          claim: {
            max_media_seconds: 4 * 3600,
            job: { owner_id: input.owner!, media: { path: input.path } },
          },
          progress() {},
          supabase,
        } as unknown as StepContext<"prepare">;
        return await measure(async () => {
          const out = await prepareStep(ctx);
          StepIO.prepare.output.parse(out);
          if (out.chunks.length !== Math.ceil(input.seconds / 600)) throw new Error("plan");
        });
      }
      return await measure(async () => {
        const duration = await probeDuration(input.url!);
        if (Math.abs(duration - input.seconds) > 2) throw new Error(`duration ${duration}`);
        StepIO.prepare.output.parse({ duration, chunks: planChunks("x/y", duration) });
      });
    }
    case "transcribe": {
      const whole = input.seconds <= 610;
      const middle = planChunks("x", input.seconds)[Math.floor(input.seconds / 1200)];
      return await measure(async () => {
        const pieces = whole
          ? await readPieces(input.url!, 0, input.seconds, input.seconds, "chunk.mp3")
          : await readPieces(input.url!, middle.start, middle.end, input.seconds, "long");
        const largest = Math.max(...pieces.map((p) => p.audio.length));
        if (largest === 0 || largest > AUDIO_UPLOAD_BYTES) throw new Error(`upload ${largest}`);
        return largest;
      });
    }
    case "merge":
    case "render": {
      const text = await Deno.readTextFile(input.file!);
      return await measure(() => runTextStep(step, text));
    }
  }
}

async function coldRun(step: Step, input: Input): Promise<Sample> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--measure",
      step,
      JSON.stringify(input),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    throw new Error(`measuring ${step}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  return JSON.parse(text) as Sample;
}

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(out.stderr)}`);
}

/** An MP3 of a 220 Hz tone: `seconds` long at `kbps`, mono 44.1 kHz. */
async function makeMp3(seconds: number, kbps: number, path: string): Promise<void> {
  await ffmpeg([
    ...["-f", "lavfi", "-i", `sine=frequency=220:sample_rate=44100:duration=${seconds}`],
    ...["-ac", "1", "-c:a", "libmp3lame", "-b:a", `${kbps}k`, path],
  ]);
}

export const stepLimits: BenchSuite = {
  name: "step_limits",
  async run(ctx: BenchContext): Promise<BenchResult> {
    const seconds = ctx.quick ? 3600 : 10800;
    const dir = await Deno.makeTempDir({ prefix: "step_limits_" });
    const supabase = createClient(ctx.env.SUPABASE_URL, ctx.env.SUPABASE_SECRET_KEY, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const owner = crypto.randomUUID();
    const folder = `${owner}/${crypto.randomUUID()}`;
    const stored: string[] = [];
    const notes: string[] = [];
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../tests/support/range_server.ts", import.meta.url).pathname,
        "--serve",
        dir,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const samples: Record<string, Sample[]> = {};
    try {
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const base = (await reader.read()).value!.trim();
      reader.releaseLock();
      // The manifest case: 18 chunk objects and the manifest, and the largest chunk the web app
      // makes. prepare lists the chunks and probes each against its window (only headers are
      // read), so each holds real audio of its window's length (32 kbit/s: small uploads).
      const plan = planChunks(`${folder}/chunk.mp3`, seconds).map((c, i) => ({
        ...c,
        path: `${folder}/chunk-${String(i).padStart(3, "0")}.mp3`,
      }));
      const audioOf = new Map<number, Uint8Array>();
      for (const length of new Set(plan.map((c) => c.end - c.start))) {
        await makeMp3(length, 32, `${dir}/window-${length}.mp3`);
        audioOf.set(length, await Deno.readFile(`${dir}/window-${length}.mp3`));
      }
      for (const c of plan) {
        const up = await supabase.storage.from("media").upload(
          c.path,
          audioOf.get(c.end - c.start)!,
          {
            contentType: "audio/mpeg",
          },
        );
        if (up.error) throw new Error(`upload ${c.path}: ${up.error.message}`);
        stored.push(c.path);
      }
      const manifest = {
        version: 1,
        source: { filename: "talk.mp4", bytes: 1e9, sha256: "0".repeat(64), duration: seconds },
        audio: { codec: "mp3", container: "mp3" },
        chunks: plan,
      };
      const manifestPath = `${folder}/manifest.json`;
      const up = await supabase.storage.from("media").upload(
        manifestPath,
        new Blob([JSON.stringify(manifest)], { type: "application/json" }),
      );
      if (up.error) throw new Error(`manifest: ${up.error.message}`);
      stored.push(manifestPath);
      ctx.log("step_limits: making the largest web chunk and the 3-hour MP3");
      const webChunk = chunkSecondsFor(320 * 125) + OVERLAP_SECONDS + TAIL_SLACK_SECONDS;
      await makeMp3(webChunk, 320, `${dir}/chunk.mp3`);
      const chunk = await Deno.readFile(`${dir}/chunk.mp3`);
      const bigChunk = `${folder}/big-chunk.mp3`;
      const upChunk = await supabase.storage.from("media").upload(bigChunk, chunk, {
        contentType: "audio/mpeg",
      });
      if (upChunk.error) throw new Error(`chunk: ${upChunk.error.message}`);
      stored.push(bigChunk);
      const signed = await supabase.storage.from("media").createSignedUrl(bigChunk, 3600);
      if (signed.error) throw new Error(signed.error.message);
      await makeMp3(seconds, 128, `${dir}/long.mp3`);
      const mp3Size = (await Deno.stat(`${dir}/long.mp3`)).size;
      const wavName = `synthetic-${seconds}-44100-2.wav`;
      const wavSize = 44 + seconds * 44100 * 4;
      notes.push(
        `manifest: ${plan.length} chunks; largest chunk ${chunk.length} bytes (${webChunk} s, 320 kbit/s)`,
        `wav: ${wavSize} bytes (${seconds} s, 44.1 kHz stereo); mp3: ${mp3Size} bytes (128 kbit/s)`,
      );
      await writeTextStepInputs(dir, seconds);
      const inputs: Record<Case, Partial<Record<Step, Input>>> = {
        manifest: {
          prepare: {
            seconds,
            supabaseUrl: ctx.env.SUPABASE_URL,
            serviceKey: ctx.env.SUPABASE_SECRET_KEY,
            owner,
            path: manifestPath,
          },
          transcribe: { url: signed.data.signedUrl, seconds: webChunk },
          merge: { seconds, file: `${dir}/merge.json` },
          render: { seconds, file: `${dir}/render.json` },
        },
        wav: {
          prepare: { url: `${base}/${wavName}`, seconds },
          transcribe: { url: `${base}/${wavName}`, seconds },
        },
        mp3: {
          prepare: { url: `${base}/long.mp3`, seconds },
          transcribe: { url: `${base}/long.mp3`, seconds },
        },
      };
      for (let run = 0; run < ctx.runs; run++) {
        const line: string[] = [];
        for (const [c, steps] of Object.entries(CASES) as [Case, Step[]][]) {
          for (const step of steps) {
            const sample = await coldRun(step, inputs[c][step]!);
            (samples[`${c}_${step}`] ??= []).push(sample);
            line.push(
              `${c}/${step} ${sample.memory_mb.toFixed(0)} MB ${sample.cpu_ms.toFixed(0)} ms`,
            );
          }
        }
        ctx.log(`step_limits: run ${run + 1}: ${line.join(", ")}`);
      }
    } finally {
      try {
        server.kill("SIGTERM");
      } catch { /* gone */ }
      await server.status;
      for (let i = 0; i < stored.length; i += 100) {
        await supabase.storage.from("media").remove(stored.slice(i, i + 100));
      }
      await Deno.remove(dir, { recursive: true });
    }
    const figures: Record<string, number> = {};
    const ranges: Record<string, [number, number]> = {};
    const targets: Record<string, string> = {};
    const put = (key: string, xs: number[], target: string, digits = 0) => {
      const r = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
      figures[key] = r(median(xs));
      ranges[key] = [r(Math.min(...xs)), r(Math.max(...xs))];
      targets[key] = target;
    };
    for (const [key, xs] of Object.entries(samples)) {
      put(
        `limits_${key}_memory_mb`,
        xs.map((s) => s.memory_mb),
        `≤ ${mb(FUNCTION_MEMORY_BYTES)} MB`,
      );
      put(`limits_${key}_cpu_ms`, xs.map((s) => s.cpu_ms), `≤ ${FUNCTION_CPU_MS} ms`);
      notes.push(
        `${key}: resident-set high-water mark ${median(xs.map((s) => s.rss_hwm_mb)).toFixed(0)} MB`,
      );
      if (xs[0].upload_bytes !== undefined) {
        put(`limits_${key}_upload_mb`, xs.map((s) => s.upload_bytes! / 1e6), "≤ 25 MB", 1);
      }
    }
    const all = Object.values(samples).flat();
    put("limits_max_memory_mb", [Math.max(...all.map((s) => s.memory_mb))], "≤ 256 MB");
    put("limits_max_cpu_ms", [Math.max(...all.map((s) => s.cpu_ms))], `≤ ${FUNCTION_CPU_MS} ms`);
    return { figures, ranges, targets, notes };
  },
};

if (import.meta.main) {
  if (Deno.args[0] === "--measure") {
    const sample = await measureOnce(Deno.args[1] as Step, JSON.parse(Deno.args[2]) as Input);
    console.log(JSON.stringify(sample));
  } else {
    const { stackEnv } = await import("../tests/support/stack_env.ts");
    const result = await stepLimits.run({
      quick: Deno.args.includes("--quick"),
      runs: 3,
      env: stackEnv(),
      log: (m) => console.error(m),
    });
    console.log(JSON.stringify(result, null, 2));
  }
}
