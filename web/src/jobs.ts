/**
 * Everything the page asks the database about jobs: pages of the user's jobs, one job, the
 * RPCs (cancel, retry, delete, share, open a share link, queue, estimate, stats, checklist)
 * and the outputs. Rows are validated with zod where they enter the page.
 */
import { z } from "zod";
import type { Json, Tables } from "../../supabase/functions/_shared/database.types.ts";
import { type CaptionPreset, PRESET_COLUMNS, presetsOf } from "./caption_presets.ts";
import { filenamePattern, PAGE_SIZE } from "./job_list.ts";
import { supabase } from "./supabase.ts";

export { isActive, PAGE_SIZE } from "./job_list.ts";

export const JobStatus = z.enum(["pending", "processing", "completed", "failed", "cancelled"]);
export type JobStatus = z.infer<typeof JobStatus>;

type JobsTable = Tables<"jobs">;

/** The JSON columns as the page reads them (normalised by the submit trigger, 050_submit.sql). */
const JobMedia = z.object({ path: z.string(), bytes: z.number(), sha256: z.string() })
  .passthrough();
const JobOptions = z.object({
  language: z.string().optional(),
  force_language: z.boolean().optional(),
  num_speakers: z.number().nullable().optional(),
  min_speakers: z.number().nullable().optional(),
  max_speakers: z.number().nullable().optional(),
  translate_to: z.array(z.string()).optional(),
  summarize: z.boolean().optional(),
}).passthrough();

/**
 * The columns of public.jobs the page shows: the generated row type (database.types.ts), with
 * the status and JSON columns narrowed to what the page relies on.
 */
export type JobRow =
  & Pick<
    JobsTable,
    | "id"
    | "owner_id"
    | "filename"
    | "stage"
    | "stage_message"
    | "progress"
    | "error_code"
    | "error_message"
    | "cached_from"
    | "cached_at"
    | "created_at"
    | "completed_at"
  >
  & {
    status: JobStatus;
    media: z.infer<typeof JobMedia>;
    options: z.infer<typeof JobOptions>;
    deleted_at?: JobsTable["deleted_at"];
  };

const JobRowObject = z.object({
  id: z.string(),
  owner_id: z.string(),
  filename: z.string(),
  status: JobStatus,
  stage: z.string().nullable(),
  stage_message: z.string().nullable(),
  progress: z.number(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  cached_from: z.string().nullable(),
  cached_at: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  media: JobMedia,
  deleted_at: z.string().nullable().optional(),
  options: JobOptions,
});

/** Validates a row where it enters the page (REST, Realtime, the offline snapshot). */
export const JobRow: z.ZodType<JobRow> = JobRowObject;

const COLUMNS = "id,owner_id,filename,status,stage,stage_message,progress,error_code," +
  "error_message,cached_from,cached_at,created_at,completed_at,media,options";

/** Which jobs the list shows: a status group and a filename search. */
export interface JobQuery {
  status: "all" | "active" | "completed" | "failed";
  search: string;
  page: number;
}

const STATUS_GROUPS: Record<Exclude<JobQuery["status"], "all">, JobStatus[]> = {
  active: ["pending", "processing"],
  completed: ["completed"],
  failed: ["failed", "cancelled"],
};

/** One page of the user's own jobs, newest first, and how many match in all. */
export async function fetchJobs(
  userId: string,
  query: JobQuery,
): Promise<{ jobs: JobRow[]; total: number }> {
  const from = query.page * PAGE_SIZE;
  let request = supabase.from("jobs").select(COLUMNS, { count: "exact" }).eq("owner_id", userId);
  if (query.status !== "all") request = request.in("status", STATUS_GROUPS[query.status]);
  const pattern = filenamePattern(query.search);
  if (pattern) request = request.ilike("filename", pattern);
  const { data, error, count } = await request.order("created_at", { ascending: false })
    .range(from, from + PAGE_SIZE - 1);
  if (error) throw error;
  return { jobs: z.array(JobRow).parse(data ?? []), total: count ?? 0 };
}

/** One job the caller can see (own or shared); null when it no longer exists. */
export async function fetchJob(jobId: string): Promise<JobRow | null> {
  const { data, error } = await supabase.from("jobs").select(COLUMNS).eq("id", jobId)
    .maybeSingle();
  if (error) throw error;
  return data ? JobRow.parse(data) : null;
}

export type JobAction = "cancel" | "retry" | "delete";

export async function runAction(action: JobAction, jobId: string): Promise<void> {
  const fn = ({ cancel: "cancel_job", retry: "retry_job", delete: "delete_job" } as const)[action];
  const { error } = await supabase.rpc(fn, { job_id: jobId });
  if (error) throw error;
}

/**
 * Runs a cancelled job again with the same recording and settings, as a new job (retry_job
 * takes failed jobs only; the uploaded audio stays in storage until the job expires).
 */
export async function resubmit(job: JobRow): Promise<string> {
  const { data, error } = await supabase.from("jobs").insert({
    filename: job.filename,
    media: job.media as NonNullable<Json>,
    options: job.options as NonNullable<Json>,
  }).select("id").single();
  if (error) throw error;
  return z.string().parse(data.id);
}

/** The share link of one of the user's jobs: `<this page>?job=<id>#token=…`. */
export async function shareLink(jobId: string): Promise<string> {
  const { data, error } = await supabase.rpc("share_job", { job_id: jobId });
  if (error) throw error;
  const token = z.string().min(16).parse(data);
  return `${location.origin}${location.pathname}?job=${jobId}#token=${token}`;
}

/** Revokes the share link of one of the user's jobs: whoever opened it loses access at once. */
export async function revokeShare(jobId: string): Promise<void> {
  const { error } = await supabase.rpc("revoke_share", { job_id: jobId });
  if (error) throw error;
}

/** What a share link's viewer may read of a job (shared_job, 070_user_rpcs.sql). */
const SharedJob = JobRowObject.pick({
  id: true,
  filename: true,
  status: true,
  stage: true,
  stage_message: true,
  progress: true,
  error_code: true,
  error_message: true,
  created_at: true,
  completed_at: true,
}).extend({ translate_to: z.array(z.string()).default([]) });

/**
 * The Realtime topic the caller hears a shared job's changes on: `job:<id>` for its owner, the
 * share link's own topic for a viewer (it gets nothing once the link is revoked). Null when the
 * job is gone.
 */
export async function sharedJobTopic(jobId: string): Promise<string | null> {
  const { data, error } = await supabase.rpc("shared_job", { job_id: jobId });
  if (error) {
    if (error.hint === "not_found") return null;
    throw error;
  }
  return z.object({ topic: z.string() }).parse(data).topic;
}

/**
 * A shared job as the viewer sees it, shaped as a row for the read-only card: no media, options
 * or owner ever reach the viewer. Null when it is gone (deleted, expired, or the link revoked).
 */
export async function fetchSharedJob(jobId: string): Promise<JobRow | null> {
  const { data, error } = await supabase.rpc("shared_job", { job_id: jobId });
  if (error) {
    if (error.hint === "not_found") return null;
    throw error;
  }
  const { translate_to, ...shared } = SharedJob.parse(data);
  return {
    ...shared,
    owner_id: "",
    cached_from: null,
    cached_at: null,
    media: { path: "", bytes: 0, sha256: "" },
    // Only which languages are translations, so the viewer lists the original first.
    options: { translate_to },
  };
}

/** Opens a share link: the signed-in user becomes a viewer. Returns the job id. */
export async function openSharedJob(token: string): Promise<string> {
  const { data, error } = await supabase.rpc("open_shared_job", { token });
  if (error) throw error;
  return z.string().parse(data);
}

const QueueStatus = z.object({
  active: z.number(),
  limit: z.number(),
  accepting: z.boolean(),
  message: z.string().nullable(),
});
export type QueueStatus = z.infer<typeof QueueStatus>;

export async function queueStatus(): Promise<QueueStatus> {
  const { data, error } = await supabase.rpc("queue_status");
  if (error) throw error;
  return QueueStatus.parse(data);
}

const Estimate = z.object({
  seconds_remaining: z.number().nullable(),
  basis: z.string(),
  /** The seed's size bucket ("0-100MB", "100-500MB", "500MB+") the estimate came from. */
  bucket: z.string().optional(),
});
export type Estimate = z.infer<typeof Estimate>;

export async function estimateJob(jobId: string): Promise<Estimate> {
  const { data, error } = await supabase.rpc("estimate_job", { job_id: jobId });
  if (error) throw error;
  return Estimate.parse(data);
}

const Stats = z.object({
  total: z.number(),
  by_status: z.record(z.string(), z.number()).nullable(),
  media_minutes: z.number().nullable(),
  average_processing_seconds: z.number().nullable(),
});
export type Stats = z.infer<typeof Stats>;

export async function myStats(): Promise<Stats> {
  const { data, error } = await supabase.rpc("my_stats");
  if (error) throw error;
  return Stats.parse(data);
}

/** One line of the stage checklist (job_steps, 070_user_rpcs.sql). */
export const StepState = z.object({
  step: z.string(),
  label: z.string(),
  unit: z.string().nullable(),
  language: z.string().nullable(),
  total: z.number(),
  completed: z.number(),
  running: z.number(),
});
export type StepState = z.infer<typeof StepState>;

export async function jobSteps(jobId: string): Promise<StepState[]> {
  const { data, error } = await supabase.rpc("job_steps", { job_id: jobId });
  if (error) throw error;
  return z.array(StepState).parse(data);
}

export const OUTPUT_FORMATS = ["srt", "vtt", "ttml", "txt", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
const MIME: Record<OutputFormat, string> = {
  srt: "application/x-subrip",
  vtt: "text/vtt",
  ttml: "application/ttml+xml",
  txt: "text/plain",
  json: "application/json",
};

/** The transcript so far of a running job (owner only): finished chunks' segments in order. */
const PartialTranscript = z.object({
  status: z.string(),
  chunks: z.number(),
  completed_chunks: z.number(),
  segments: z.array(
    z.object({
      start: z.number(),
      end: z.number(),
      text: z.string(),
      speaker: z.string().optional(),
    }).passthrough(),
  ),
});
export type PartialTranscript = z.infer<typeof PartialTranscript>;

export async function partialTranscript(jobId: string): Promise<PartialTranscript> {
  const { data, error } = await supabase.rpc("partial_transcript", { job_id: jobId });
  if (error) throw error;
  return PartialTranscript.parse(data);
}

const OutputRow = z.object({ language: z.string(), format: z.string(), content: z.string() });
export type OutputRow = z.infer<typeof OutputRow>;

/** Every output of a completed job (captions per language and format, summary). */
export async function fetchOutputs(jobId: string): Promise<OutputRow[]> {
  const { data, error } = await supabase.from("job_outputs").select("language,format,content")
    .eq("job_id", jobId);
  if (error) throw error;
  return z.array(OutputRow).parse(data ?? []);
}

/** Languages with captions, the transcript's own first, then translations. */
export function outputLanguages(job: JobRow, outputs: OutputRow[]): string[] {
  const translations = new Set(job.options.translate_to ?? []);
  const languages = [
    ...new Set(outputs.filter((o) => o.format !== "summary").map((o) => o.language)),
  ];
  return languages.sort((a, b) => Number(translations.has(a)) - Number(translations.has(b)));
}

/** Saves one output as a file named after the recording (and the language, for translations). */
export function saveOutput(job: JobRow, output: OutputRow, primaryLanguage: string): void {
  const format = output.format as OutputFormat;
  const base = job.filename.replace(/\.[^.]+$/, "");
  const suffix = output.language === primaryLanguage ? "" : `.${output.language}`;
  const url = URL.createObjectURL(new Blob([output.content], { type: MIME[format] }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${base}${suffix}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

let presets: Promise<CaptionPreset[]> | null = null;

/** The project's caption style presets (public.caption_presets), read once per page. */
export function captionPresets(): Promise<CaptionPreset[]> {
  presets ??= (async () => {
    const { data, error } = await supabase.from("caption_presets").select(PRESET_COLUMNS);
    if (error) throw error;
    return presetsOf(data);
  })();
  presets.catch(() => (presets = null));
  return presets;
}
