/**
 * CPU time of the largest unit of work of each step for a 3-hour recording (Edge Functions
 * allow 2 s of CPU per request): prepare probing a 3-hour single file, transcribe cutting a
 * 10-minute window out of it (both reading from Storage by range through a signed URL, as the
 * steps do), merge of 18 chunk transcripts and render of the 3-hour transcript (each with the
 * JSON parse and zod validation of its input and output that the step runtime does).
 *
 * Every measurement runs in a fresh Deno process, as a cold function worker would, and counts
 * only the request's work (node:process cpuUsage, user + system, around the step's code), not
 * module loading. Files are generated with ffmpeg into a temp dir (AAC/M4A and MP3, 16 kbit/s)
 * and uploaded to the stack; `--quick` uses 1 hour instead of 3.
 *
 * Standalone: `deno run -A scripts/bench/step_cpu.ts [--quick]` against the running stack.
 */
import { cpuUsage } from "node:process";
import { makeLongAudio } from "../ship/asr/fixtures.ts";
import { fakeSegments } from "../tests/fakes/deterministic.ts";
import type { BenchContext, BenchResult, BenchSuite } from "./suite.ts";
import { median } from "./statistics.ts";
import { JobOptions, StepIO } from "../../supabase/functions/_shared/engine/contract.ts";
import { mergeChunks } from "../../supabase/functions/_shared/subtitles/chunk_merge.ts";
import type { StepContext } from "../../supabase/functions/_shared/engine/step_runtime.ts";
import { mergeStep } from "../../supabase/functions/merge/step.ts";
import { planChunks, probeDuration } from "../../supabase/functions/prepare/step.ts";
import { renderStep } from "../../supabase/functions/_shared/subtitles/render.ts";
import { readPieces } from "../../supabase/functions/transcribe/step.ts";
import { createClient } from "@supabase/supabase-js";

type Measured = "prepare" | "transcribe" | "merge" | "render";
const STEPS: Measured[] = ["prepare", "transcribe", "merge", "render"];

function cpuMs(): number {
  const c = cpuUsage();
  return (c.user + c.system) / 1000;
}

/** What one cold process measures: `--measure <step> <input>`, printing `{"cpu_ms": n}`. */
async function measureOnce(step: Measured, input: string): Promise<number> {
  let t0: number;
  switch (step) {
    case "prepare": {
      t0 = cpuMs();
      const duration = await probeDuration(input);
      StepIO.prepare.output.parse({ duration, chunks: planChunks("x/y.m4a", duration) });
      break;
    }
    case "transcribe": {
      const { url, start, end } = JSON.parse(input) as { url: string; start: number; end: number };
      t0 = cpuMs();
      const pieces = await readPieces(url, start, end, Infinity, "bench");
      if (pieces.some((p) => p.audio.length === 0)) throw new Error("empty window");
      break;
    }
    case "merge":
    case "render": {
      const text = await Deno.readTextFile(input);
      t0 = cpuMs();
      await runTextStep(step, text);
      break;
    }
  }
  return cpuMs() - t0;
}

/**
 * Writes `merge.json` and `render.json` into `dir`: merge's input for a recording of `seconds`
 * (mergeInput) and render's (that input merged). Answers the merged transcript.
 */
export async function writeTextStepInputs(dir: string, seconds: number) {
  const merge = mergeInput(seconds);
  await Deno.writeTextFile(`${dir}/merge.json`, JSON.stringify(merge));
  const transcript = mergeChunks(merge.transcribe.map(({ chunk: c, transcript }) => ({
    index: c.index,
    start: c.start,
    end: c.end,
    overlapStart: c.overlap_before,
    transcript,
  })));
  await Deno.writeTextFile(
    `${dir}/render.json`,
    JSON.stringify({ merge: { transcript }, translate: [], summarize: null }),
  );
  return { transcript, chunks: merge.transcribe.length };
}

/**
 * merge or render itself on `text` (its input as JSON), as the step runtime runs it: the input
 * parsed, the step's own function (a job with default options), the output checked and
 * serialised for complete_task.
 */
export async function runTextStep(step: "merge" | "render", text: string): Promise<void> {
  const claim = { job: { options: JobOptions.parse({}) } };
  const output = step === "merge"
    ? StepIO.merge.output.parse(
      await mergeStep(
        { claim, input: StepIO.merge.input.parse(JSON.parse(text)) } as unknown as StepContext<
          "merge"
        >,
      ),
    )
    : StepIO.render.output.parse(
      await renderStep(
        { claim, input: StepIO.render.input.parse(JSON.parse(text)) } as unknown as StepContext<
          "render"
        >,
      ),
    );
  JSON.stringify(output);
}

async function coldRun(step: Measured, input: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--measure", step, input],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    throw new Error(`measuring ${step}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  return (JSON.parse(text) as { cpu_ms: number }).cpu_ms;
}

/** The merge input of a recording of `seconds`: 10-minute chunks of fake transcripts. */
export function mergeInput(seconds: number) {
  return {
    transcribe: planChunks("x/y.m4a", seconds).map((c) => ({
      chunk: c,
      transcript: {
        language: "en",
        duration: c.end - c.start,
        segments: fakeSegments(c.end - c.start).map((s) => ({
          start: s.start + c.start,
          end: s.end + c.start,
          text: s.text,
          speaker: s.speaker,
          words: s.words.map((w) => ({
            text: w.text,
            start: w.start + c.start,
            end: w.end + c.start,
          })),
        })),
      },
    })),
  };
}

export const stepCpu: BenchSuite = {
  name: "step_cpu",
  async run(ctx: BenchContext): Promise<BenchResult> {
    const seconds = ctx.quick ? 3600 : 10800;
    const dir = await Deno.makeTempDir({ prefix: "step_cpu_" });
    const supabase = createClient(ctx.env.SUPABASE_URL, ctx.env.SUPABASE_SECRET_KEY, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const folder = `bench-step-cpu/${crypto.randomUUID()}`;
    const samples: Record<Measured, number[]> = {
      prepare: [],
      transcribe: [],
      merge: [],
      render: [],
    };
    const notes: string[] = [];
    try {
      const urls: string[] = [];
      for (const codec of ["aac", "mp3"] as const) {
        const name = `long.${codec === "aac" ? "m4a" : "mp3"}`;
        ctx.log(`step_cpu: making ${seconds / 3600} h of ${codec}`);
        await makeLongAudio(seconds, codec, `${dir}/${name}`);
        const bytes = await Deno.readFile(`${dir}/${name}`);
        notes.push(`${name}: ${seconds} s, ${bytes.length} bytes`);
        const up = await supabase.storage.from("media").upload(`${folder}/${name}`, bytes, {
          contentType: codec === "aac" ? "audio/mp4" : "audio/mpeg",
        });
        if (up.error) throw new Error(`upload: ${up.error.message}`);
        const signed = await supabase.storage.from("media").createSignedUrl(
          `${folder}/${name}`,
          3600,
        );
        if (signed.error) throw new Error(`sign: ${signed.error.message}`);
        urls.push(signed.data.signedUrl);
      }
      const { transcript, chunks } = await writeTextStepInputs(dir, seconds);
      notes.push(`${transcript.segments.length} segments in ${chunks} chunks`);
      // The middle window: the deepest seek into the file.
      const middle = planChunks("x", seconds)[Math.floor(seconds / 1200)];
      for (let run = 0; run < ctx.runs; run++) {
        // The worse of the two codecs is the figure of a run.
        samples.prepare.push(
          Math.max(...await Promise.all(urls.map((u) => coldRun("prepare", u)))),
        );
        const windows = [];
        for (const url of urls) {
          windows.push(
            await coldRun(
              "transcribe",
              JSON.stringify({ url, start: middle.start, end: middle.end }),
            ),
          );
        }
        samples.transcribe.push(Math.max(...windows));
        samples.merge.push(await coldRun("merge", `${dir}/merge.json`));
        samples.render.push(await coldRun("render", `${dir}/render.json`));
        ctx.log(
          `step_cpu: run ${run + 1}: ${
            STEPS.map((s) => `${s} ${samples[s].at(-1)!.toFixed(0)} ms`).join(", ")
          }`,
        );
      }
    } finally {
      await supabase.storage.from("media").remove([`${folder}/long.m4a`, `${folder}/long.mp3`]);
      await Deno.remove(dir, { recursive: true });
    }
    const figures: Record<string, number> = {};
    const ranges: Record<string, [number, number]> = {};
    const targets: Record<string, string> = {};
    for (const step of STEPS) {
      const key = `step_cpu_${step}_ms`;
      figures[key] = Math.round(median(samples[step]));
      ranges[key] = [
        Math.round(Math.min(...samples[step])),
        Math.round(Math.max(...samples[step])),
      ];
      targets[key] = "≤ 2000 ms";
    }
    figures.step_cpu_max_ms = Math.max(...STEPS.map((s) => figures[`step_cpu_${s}_ms`]));
    ranges.step_cpu_max_ms = [
      Math.max(...STEPS.map((s) => ranges[`step_cpu_${s}_ms`][0])),
      Math.max(...STEPS.map((s) => ranges[`step_cpu_${s}_ms`][1])),
    ];
    targets.step_cpu_max_ms = "≤ 2000 ms";
    return { figures, ranges, targets, notes };
  },
};

if (import.meta.main) {
  if (Deno.args[0] === "--measure") {
    const ms = await measureOnce(Deno.args[1] as Measured, Deno.args[2]);
    console.log(JSON.stringify({ cpu_ms: ms }));
  } else {
    const { stackEnv } = await import("../tests/support/stack_env.ts");
    const result = await stepCpu.run({
      quick: Deno.args.includes("--quick"),
      runs: 3,
      env: stackEnv(),
      log: (m) => console.error(m),
    });
    console.log(JSON.stringify(result, null, 2));
  }
}
