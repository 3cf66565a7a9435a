/**
 * The contract between the step functions and the SQL job engine (supabase/schemas): the body
 * pg_net posts, what claim_task returns, each step's input and output. Validated with zod at
 * every crossing, so a drift between SQL and TypeScript fails loudly and early.
 */
import { z } from "zod";
import { Transcript } from "../subtitles/transcript.ts";
import { Summary } from "../providers/types.ts";
import { SegmentRange, TranslatePart } from "../subtitles/transcript_parts.ts";

export const STEPS = [
  "prepare",
  "transcribe",
  "merge",
  "translate_part",
  "translate",
  "summarize_part",
  "summarize",
  "render",
] as const;
export type StepName = typeof STEPS[number];

/** What the dispatcher (net.http_post) sends: ids only. */
export const DispatchBody = z.object({
  task_id: z.uuid(),
  job_id: z.uuid(),
}).loose();
export type DispatchBody = z.infer<typeof DispatchBody>;

export const JobOptions = z.object({
  language: z.string().default("auto"),
  force_language: z.boolean().optional(),
  num_speakers: z.number().int().optional().nullable(),
  min_speakers: z.number().int().optional().nullable(),
  max_speakers: z.number().int().optional().nullable(),
  translate_to: z.array(z.string()).default([]),
  summarize: z.boolean().default(false),
}).loose();
export type JobOptions = z.infer<typeof JobOptions>;

export const JobMedia = z.object({
  path: z.string(),
  bytes: z.number().optional().nullable(),
  sha256: z.string().optional().nullable(),
  duration: z.number().optional().nullable(),
}).loose();
export type JobMedia = z.infer<typeof JobMedia>;

export const Chunk = z.object({
  index: z.number().int().nonnegative(),
  path: z.string(),
  start: z.number().nonnegative(),
  end: z.number().positive(),
  overlap_before: z.number().nonnegative().default(0),
  /** The manifest's `source.audio_start`, which merge adds to every time (prepare sets it). */
  audio_start: z.number().nonnegative().optional(),
});
export type Chunk = z.infer<typeof Chunk>;

/**
 * The versions of the step contract (this file's claim, inputs and outputs, and the SQL entry
 * points) this code knows. Every task names the version it was planned under (`task.contract` in
 * the claim; a claim without one is version 1, as every task before versions existed). A step
 * function handed a task of a version it does not know — the database was upgraded before the
 * functions (`supabase db push`, then `supabase functions deploy`) — hands it back unrun
 * (`release_task`): it is dispatched again later and never fails for it. CHANGELOG.md lists what
 * each version changed.
 */
export const CONTRACT_VERSIONS: readonly number[] = [1];

const ContractVersion = z.number().int().positive().default(1);

/** The part of a claim read before its version is known to be one this code understands. */
export const ClaimHeader = z.object({
  lease: z.uuid(),
  task: z.object({ id: z.uuid(), contract: ContractVersion }).loose(),
}).loose();

export const Claim = z.object({
  lease: z.uuid(),
  /** How often to heartbeat (private.settings.heartbeat_seconds). */
  heartbeat_seconds: z.number().positive(),
  /** The longest recording accepted (private.settings.max_media_seconds), for prepare. */
  max_media_seconds: z.number().positive(),
  task: z.object({
    id: z.uuid(),
    job_id: z.uuid(),
    step: z.enum(STEPS),
    chunk_index: z.number().int().nullable().optional(),
    attempt: z.number().int(),
    contract: ContractVersion,
  }),
  job: z.object({
    id: z.uuid(),
    owner_id: z.uuid(),
    filename: z.string(),
    media: JobMedia,
    options: JobOptions,
  }),
  input: z.record(z.string(), z.unknown()).default({}),
});
export type Claim = z.infer<typeof Claim>;

/** A completed transcript-producing step's output, as it reaches the steps after it. */
const WithTranscript = z.object({ transcript: Transcript });

/**
 * Each step's input and output (given to complete_task). The input is built by SQL
 * (task_input, 041_planning.sql) the same way for every step: the task's own params (`chunk`,
 * `language`: private.steps.map_as) and, under each predecessor's name, its output, or for a
 * mapped predecessor the array of its tasks' params merged with their outputs, in order.
 */
export const StepIO = {
  prepare: {
    input: z.object({}).loose(),
    output: z.object({ duration: z.number().positive(), chunks: z.array(Chunk).min(1) }),
  },
  transcribe: {
    input: z.object({ chunk: Chunk }),
    output: WithTranscript,
  },
  merge: {
    input: z.object({
      transcribe: z.array(
        WithTranscript.extend({ chunk: Chunk.extend({ path: z.string().optional() }) }),
      ),
    }),
    // The parts translate_part and summarize_part map over (transcript_parts.ts).
    output: WithTranscript.extend({
      translate_parts: z.array(TranslatePart).default([]),
      summary_parts: z.array(SegmentRange).default([]),
    }),
  },
  translate_part: {
    input: z.object({ part: TranslatePart, merge: WithTranscript }),
    output: z.object({ texts: z.array(z.string()) }),
  },
  translate: {
    input: z.object({
      language: z.string(),
      merge: WithTranscript,
      translate_part: z.array(z.object({ part: TranslatePart, texts: z.array(z.string()) })),
    }),
    output: z.object({ language: z.string(), transcript: Transcript }),
  },
  summarize_part: {
    input: z.object({ part: SegmentRange, merge: WithTranscript }),
    output: Summary,
  },
  summarize: {
    input: z.object({
      merge: WithTranscript,
      summarize_part: z.array(Summary.extend({ part: SegmentRange })).default([]),
    }),
    output: Summary,
  },
  render: {
    input: z.object({
      merge: WithTranscript,
      translate: z.array(z.object({ language: z.string(), transcript: Transcript })).default([]),
      summarize: Summary.nullable().optional(),
    }),
    output: z.object({
      outputs: z.array(z.object({
        language: z.string(),
        format: z.enum(["srt", "vtt", "ttml", "txt", "json", "summary"]),
        content: z.string(),
      })),
    }),
  },
} as const;

export type StepInput<S extends StepName> = z.infer<typeof StepIO[S]["input"]>;
export type StepOutput<S extends StepName> = z.infer<typeof StepIO[S]["output"]>;

/** The chunk manifest the browser (or any client) uploads beside the audio chunks. */
export const Manifest = z.object({
  version: z.literal(1),
  source: z.object({
    filename: z.string(),
    bytes: z.number().nonnegative().optional(),
    sha256: z.string().optional(),
    /** Seconds of the audio track (recording_windows.ts), not the container's. */
    duration: z.number().positive(),
    /** Where the audio's 0 lies on the video's timeline; cue times are shifted by it. */
    audio_start: z.number().nonnegative().default(0),
  }).loose(),
  audio: z.object({ codec: z.string().optional(), container: z.string().optional() }).loose()
    .optional(),
  chunks: z.array(Chunk).min(1),
});
export type Manifest = z.infer<typeof Manifest>;
