/**
 * prepare: learn what is to be transcribed. With a chunk manifest (what the web app uploads)
 * the plan is the manifest's, checked against what was uploaded (manifest_check.ts). A single uploaded file of any length (WAV, or any
 * container mediabunny reads: MP4/M4A, MP3, WebM, Ogg...) is probed for its duration and
 * planned as windows of at most 10 minutes with overlap, which transcribe cuts out of it
 * (audio_window.ts): nothing is decoded on the server.
 */
import { type Chunk, Manifest, type StepOutput } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { probeAudio, urlSource } from "../_shared/audio/audio_window.ts";
import { detectUrlFormat } from "../_shared/audio/audio_format.ts";
import {
  assertOwnPath,
  downloadMedia,
  signedMediaUrl,
  signedMediaUrls,
} from "../_shared/audio/media.ts";
import { checkManifestPlan, checkProbedDurations } from "./manifest_check.ts";
import { planWindows } from "../_shared/audio/recording_windows.ts";

export { CHUNK_SECONDS, OVERLAP_SECONDS } from "../_shared/audio/recording_windows.ts";

/** Chunks of a manifest probed at once (each read is a few ranges of its header). */
const PROBES_AT_ONCE = 4;

/** The windows transcribe cuts out of a single uploaded file: the clients' plan. */
export function planChunks(path: string, duration: number): Chunk[] {
  return planWindows(duration).map((w) => ({ ...w, path }));
}

export async function prepareStep(ctx: StepContext<"prepare">): Promise<StepOutput<"prepare">> {
  const { job } = ctx.claim;
  assertOwnPath(job.owner_id, job.media.path);
  ctx.progress(0.1, "Reading the upload");
  if (job.media.path.endsWith(".json")) {
    const text = await (await downloadMedia(ctx.supabase, job.media.path)).text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StepError("unreadable_media", "the chunk manifest is not JSON");
    }
    const manifest = Manifest.safeParse(json);
    if (!manifest.success) {
      throw new StepError(
        "invalid_manifest",
        `the chunk manifest is invalid: ${manifest.error.message}`,
      );
    }
    const { source } = manifest.data;
    for (const chunk of manifest.data.chunks) assertOwnPath(job.owner_id, chunk.path);
    const sorted = checkManifestPlan(manifest.data, {
      maxMediaSeconds: ctx.claim.max_media_seconds,
    });
    // Every chunk must exist before fan-out, so a missing one fails now and clearly: one
    // request signs every chunk's URL (chunks may sit in other folders of the owner, an
    // earlier upload reused) and names the missing ones; then each is probed against its
    // window, a few at once (only headers are read).
    ctx.progress(0.4, "Checking the uploaded chunks");
    const urls = await signedMediaUrls(ctx.supabase, sorted.map((c) => c.path));
    const probed: number[] = new Array(urls.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PROBES_AT_ONCE, urls.length) }, async () => {
        while (next < urls.length) {
          const i = next++;
          probed[i] = await probeDuration(urls[i]).catch((e) => {
            next = urls.length; // the other lanes stop too: the step fails with this one
            throw e;
          });
        }
      }),
    );
    checkProbedDurations(sorted, probed);
    // Merge shifts every time by it, so cues match the video when its audio starts late.
    const chunks = sorted.map((c) => ({ ...c, audio_start: source.audio_start }));
    return { duration: source.duration, chunks };
  }
  // A single file: its duration from the WAV header, or from the container through
  // mediabunny (only the index is read, by range); then 10-minute windows that transcribe cuts.
  const url = await signedMediaUrl(ctx.supabase, job.media.path);
  const duration = await probeDuration(url);
  const max = ctx.claim.max_media_seconds;
  if (duration > max) throw new StepError("media_too_long", `${duration} s, more than ${max} s`);
  ctx.progress(0.8, "Planning chunks");
  return { duration, chunks: planChunks(job.media.path, duration) };
}

/** Seconds of audio in a single uploaded file, read by range through `url`. */
export async function probeDuration(url: string): Promise<number> {
  const format = await detectUrlFormat(url);
  if (format.size === 0) throw new StepError("unreadable_media", "the file is empty");
  const duration = format.kind === "wav"
    ? (format.size - format.wav.dataOffset) / format.wav.byteRate
    : format.kind === "mp3"
    ? format.mp3.duration
    : (await probeAudio(urlSource(url))).duration;
  if (!(duration > 0)) throw new StepError("empty_audio", "the audio track is empty");
  return duration;
}
