/**
 * revise: the owner saves an edited transcript of one language (or restores an earlier
 * revision). The edited transcript is validated, laid out again by the caption rules of the
 * job's style and rendered to every caption format by the render step's own functions, then
 * public.store_revision (service role) stores the revision and replaces that language's outputs
 * in one transaction. Rendering here rather than in a dispatched render task keeps the save
 * synchronous (the editor shows the result at once) and leaves the pipeline's task graph alone.
 *
 * POST /functions/v1/revise  {job_id, language, transcript} | {job_id, language, restore: n}
 * → 200 {revision, violations} | 4xx {error: {code, message, field}}.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import { CaptionDocument } from "../_shared/subtitles/caption_document.ts";
import { renderTranscript } from "../_shared/subtitles/render.ts";
import type { Transcript } from "../_shared/subtitles/transcript.ts";

/**
 * What one save may cost. Rendering every caption format is bounded by the cue count and the
 * characters laid out, not by the body's bytes: 20,000 cues of 330 characters (under the body
 * cap) took 14 s and 330+ MB, past the 256 MB and 2 s CPU of a request, and the worker died for
 * every user. A 3-hour recording at the 20 characters per second captions allow is about 216,000
 * characters in some 3,000 cues; at these bounds a render peaks near 110 MB and 1 s of CPU.
 */
export const MAX_SEGMENTS = 6_000;
export const MAX_TEXT_CHARS = 250_000;

/** Postgres text cannot hold NUL, and JSON with a lone surrogate is not valid Unicode. */
const storableText = (field: z.ZodString) =>
  field.refine((s) => !s.includes("\0") && s.isWellFormed(), {
    message: "must be valid text (no NUL character or lone surrogate)",
  });

const EditedSegment = z.object({
  start: z.number().nonnegative().finite(),
  end: z.number().nonnegative().finite(),
  text: storableText(z.string().trim().min(1).max(1000)),
  speaker: storableText(z.string().trim().min(1).max(100)).optional(),
}).refine((s) => s.end > s.start, { message: "must end after it starts", path: ["end"] });

const Language = storableText(z.string().min(1).max(35));

export const ReviseRequest = z.union([
  z.object({
    job_id: z.uuid(),
    language: Language,
    transcript: z.object({
      segments: z.array(EditedSegment).min(1).max(MAX_SEGMENTS).refine(
        (segments) =>
          segments.reduce((n, s) => n + s.text.length + (s.speaker?.length ?? 0), 0) <=
            MAX_TEXT_CHARS,
        { message: `at most ${MAX_TEXT_CHARS} characters of text and speaker names in all` },
      ),
    }),
  }).strict(),
  z.object({
    job_id: z.uuid(),
    language: Language,
    restore: z.number().int().nonnegative(),
  }).strict(),
]);
export type ReviseRequest = z.infer<typeof ReviseRequest>;

export class ReviseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The transcript a JSON output carries (segments with engine words), as a Transcript. */
export function transcriptOfDocument(content: string): Transcript {
  const doc = CaptionDocument.parse(JSON.parse(content));
  return {
    language: doc.language,
    ...(doc.duration !== undefined ? { duration: doc.duration } : {}),
    segments: doc.segments,
  };
}

/** Validates the body; a zod failure becomes invalid_transcript naming the first bad field. */
export function parseReviseRequest(body: unknown): ReviseRequest {
  const parsed = ReviseRequest.safeParse(body);
  if (parsed.success) {
    const request = parsed.data;
    if ("transcript" in request) {
      const segments = request.transcript.segments;
      for (let i = 1; i < segments.length; i++) {
        if (segments[i].start < segments[i - 1].start) {
          throw new ReviseError(
            400,
            "invalid_transcript",
            "segments must be in time order",
            `transcript.segments.${i}.start`,
          );
        }
      }
    }
    return request;
  }
  let issue = parsed.error.issues[0];
  if (issue.code === "invalid_union") {
    // Neither an edit nor a restore: report the branch the body meant, the one whose keys it has.
    const meant = issue.errors.find((branch) =>
      !branch.some((i) => i.code === "unrecognized_keys" && i.path.length === 0)
    );
    if (meant?.[0]) issue = meant[0];
  }
  const field = issue.path.join(".") || "body";
  throw new ReviseError(400, "invalid_transcript", `${field}: ${issue.message}`, field);
}

/** Saves a revision for `ownerId`, who must own the job (checked here and again in SQL). */
export async function revise(
  db: SupabaseClient,
  ownerId: string,
  request: ReviseRequest,
): Promise<{ revision: number; violations: number }> {
  const { data: job, error: jobError } = await db.from("jobs")
    .select("id,owner_id,status,options,media").eq("id", request.job_id).maybeSingle();
  if (jobError) throw jobError;
  if (!job || job.owner_id !== ownerId) {
    throw new ReviseError(
      404,
      "not_found",
      "This job does not exist or you cannot see it.",
      "job_id",
    );
  }
  if (job.status !== "completed") {
    throw new ReviseError(409, "invalid_state", "Only a completed job can be edited.", "job_id");
  }
  const { data: current, error: outputError } = await db.from("job_outputs").select("content")
    .eq("job_id", job.id).eq("language", request.language).eq("format", "json").maybeSingle();
  if (outputError) throw outputError;
  if (!current) {
    throw new ReviseError(
      404,
      "not_found",
      "The job has no transcript in this language.",
      "language",
    );
  }
  const { data: revisions, error: revisionsError } = await db.from("job_revisions")
    .select("revision,transcript").eq("job_id", job.id).eq("language", request.language)
    .order("revision");
  if (revisionsError) throw revisionsError;
  // Revision 0 is the pipeline's transcript: stored on the first save, the current JSON's until then.
  const original = revisions.length > 0
    ? revisions[0].transcript as Transcript
    : transcriptOfDocument(current.content);

  let transcript: Transcript;
  let restoredFrom: number | null = null;
  if ("restore" in request) {
    const found = request.restore === 0
      ? original
      : revisions.find((r) => r.revision === request.restore)?.transcript as Transcript | undefined;
    if (!found) throw new ReviseError(404, "not_found", "No such revision.", "restore");
    transcript = found;
    restoredFrom = request.restore;
  } else {
    const duration = Number(job.media?.duration ?? original.duration ?? 0);
    const late = request.transcript.segments.findIndex((s) => duration > 0 && s.end > duration + 1);
    if (late >= 0) {
      throw new ReviseError(
        400,
        "invalid_transcript",
        "a cue ends after the recording",
        `transcript.segments.${late}.end`,
      );
    }
    transcript = {
      language: original.language,
      ...(original.duration !== undefined ? { duration: original.duration } : {}),
      segments: request.transcript.segments,
    };
  }
  // The original keeps the pipeline's layout; an edit keeps the owner's cues where the rules allow.
  const outputs = renderTranscript(
    request.language,
    transcript,
    (job.options as Record<string, unknown>)?.caption_style,
    { keepSegments: restoredFrom !== 0 },
  );
  const json = outputs.find((o) => o.format === "json")!;
  const violations = CaptionDocument.parse(JSON.parse(json.content)).violations?.length ?? 0;
  const { data: revision, error } = await db.rpc("store_revision", {
    job_id: job.id,
    owner_id: ownerId,
    language: request.language,
    transcript,
    original,
    outputs: outputs.map(({ format, content }) => ({ format, content })),
    restored_from: restoredFrom,
  });
  if (error) {
    const status = /^PT(\d{3})$/.exec(error.code ?? "")?.[1];
    // Only store_revision's own refusals (PTnnn) reach the user; anything else is ours.
    if (!status) throw new Error(`store_revision: ${error.code} ${error.message}`);
    throw new ReviseError(
      Number(status),
      error.hint || "internal",
      error.message,
      error.details || undefined,
    );
  }
  return { revision: Number(revision), violations };
}
