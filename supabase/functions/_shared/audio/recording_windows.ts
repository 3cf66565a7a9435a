/**
 * What a recording's duration and chunk windows are, in one place for every party: the web app
 * and the command-line client plan their chunks with it (web/src/media/chunk_plan.ts,
 * ffmpeg_plan.ts), prepare checks any client's manifest with it
 * (supabase/functions/prepare/manifest_check.ts), and supabase/schemas/README.md ("Manifest")
 * states the same rules in words.
 *
 * - Times are seconds on the **audio track's** own timeline: 0 is its first sample, and the
 *   recording's `duration` is where its last sample ends — never the container's duration,
 *   which counts the video too (an MP4 whose audio stops 0.7 s before the picture).
 * - `audio_start` is where that 0 lies on the video's timeline (audio that starts 2 s after the
 *   picture: 2). Subtitles are shifted by it, so cues match the video.
 * - A chunk's window `[start, end)` says which seconds of the audio its object holds; the object
 *   itself starts at 0.
 *
 * Pure, with no imports: the web app bundles it, the CLI and the Edge Functions import it.
 */

/** Nominal chunk length the clients cut (about 10 minutes, DESIGN.md). */
export const CHUNK_SECONDS = 600;
/** Audio the clients repeat at the start of every chunk but the first. */
export const OVERLAP_SECONDS = 3;
/** Seconds past the last full window the clients keep in the last chunk (3600.02 s → 6 chunks). */
export const TAIL_SLACK_SECONDS = 2;

/** The longest overlap accepted between neighbours. */
export const MAX_OVERLAP_SECONDS = 10;
/** Every chunk but the last is at least this long, which bounds the count by the duration. */
export const MIN_CHUNK_SECONDS = 60;
/** No chunk is longer than 10 minutes plus the longest overlap. */
export const MAX_CHUNK_SECONDS = CHUNK_SECONDS + MAX_OVERLAP_SECONDS;
/**
 * How far two times that should agree may differ: packet granularity of compressed audio
 * (AAC 21-23 ms, Opus 20 ms, MP3 26 ms), encoder priming and millisecond rounding, with room.
 */
export const TIME_TOLERANCE_SECONDS = 0.5;

/** How many chunks of `seconds` a recording of `duration` seconds is cut into (at least one). */
export function chunkCount(duration: number, seconds = CHUNK_SECONDS): number {
  return Math.max(1, Math.ceil((duration - TAIL_SLACK_SECONDS) / seconds));
}

/** A window of the audio timeline. */
export interface Window {
  index: number;
  start: number;
  end: number;
  overlap_before: number;
}

/**
 * The clients' plan: windows of `seconds`, each after the first also taking the OVERLAP_SECONDS
 * before it, the last one ending at `duration` (it keeps the tail slack).
 */
export function planWindows(
  duration: number,
  seconds = CHUNK_SECONDS,
): Window[] {
  const count = chunkCount(duration, seconds);
  return Array.from({ length: count }, (_, index) => {
    const start = index === 0 ? 0 : index * seconds - OVERLAP_SECONDS;
    const end = index === count - 1 ? duration : (index + 1) * seconds;
    return {
      index,
      start,
      end,
      overlap_before: index === 0 ? 0 : OVERLAP_SECONDS,
    };
  });
}

/** What the rules read of a manifest (the zod schema is `Manifest` in engine/contract.ts). */
export interface ManifestPlan {
  source: { duration: number; audio_start?: number };
  chunks: {
    index: number;
    path: string;
    start: number;
    end: number;
    overlap_before: number;
  }[];
}

/** The rules, by the name each refusal gives (supabase/schemas/README.md lists them). */
export const MANIFEST_RULES = [
  "duration limit",
  "audio start",
  "chunk count",
  "order",
  "one object per chunk",
  "window",
  "starts at 0",
  "no gap",
  "bounded overlap",
  "moves on",
  "longest chunk",
  "shortest chunk",
  "ends with the audio",
  "probed duration",
] as const;
export type ManifestRule = typeof MANIFEST_RULES[number];

/** A broken rule: its name, the stable error code and a message naming the chunk. */
export interface Refusal {
  rule: ManifestRule;
  code: "invalid_manifest" | "media_too_long";
  message: string;
}

const s = (seconds: number) => `${Number(seconds.toFixed(3))} s`;
const refuse = (rule: ManifestRule, text: string): Refusal => ({
  rule,
  code: rule === "duration limit" ? "media_too_long" : "invalid_manifest",
  message: `${text} (rule "${rule}")`,
});

/** Most chunks a duration allows: every chunk but the last moves the cut on by 60 − 10 s. */
export function maxChunkCount(duration: number): number {
  return 1 + Math.ceil(duration / (MIN_CHUNK_SECONDS - MAX_OVERLAP_SECONDS));
}

/**
 * The first rule `plan` breaks, or null. Everything it checks is in the manifest; what was
 * uploaded is checked by {@link probedRefusal}.
 */
export function planRefusal(
  plan: ManifestPlan,
  maxMediaSeconds: number,
): Refusal | null {
  const { source, chunks } = plan;
  const eps = TIME_TOLERANCE_SECONDS;
  const duration = source.duration;
  if (duration > maxMediaSeconds) {
    return refuse(
      "duration limit",
      `the recording's audio is ${s(duration)} long, more than the limit of ${s(maxMediaSeconds)}`,
    );
  }
  const audioStart = source.audio_start ?? 0;
  if (!(audioStart >= 0 && audioStart <= maxMediaSeconds)) {
    return refuse(
      "audio start",
      `source.audio_start is ${audioStart}; it must be from 0 to ${s(maxMediaSeconds)}`,
    );
  }
  if (chunks.length > maxChunkCount(duration)) {
    return refuse(
      "chunk count",
      `${chunks.length} chunks for ${s(duration)} of audio: at most ${
        maxChunkCount(duration)
      } fit when every chunk but the last is at least ${s(MIN_CHUNK_SECONDS)}`,
    );
  }
  const paths = new Map<string, number>();
  for (const [i, c] of chunks.entries()) {
    if (c.index !== i) {
      return refuse(
        "order",
        `chunk ${c.index} is listed in position ${i}; list them 0, 1, 2…`,
      );
    }
    const earlier = paths.get(c.path);
    if (earlier !== undefined) {
      return refuse(
        "one object per chunk",
        `chunk ${i} names the object of chunk ${earlier}`,
      );
    }
    paths.set(c.path, i);
    if (!(c.end > c.start)) {
      return refuse(
        "window",
        `chunk ${i} ends at ${s(c.end)}, not after its start ${s(c.start)}`,
      );
    }
    const length = c.end - c.start;
    if (i === 0 && c.start > eps) {
      return refuse("starts at 0", `chunk 0 starts at ${s(c.start)}, not at 0`);
    }
    if (i > 0) {
      const before = chunks[i - 1];
      if (c.start > before.end + eps) {
        return refuse(
          "no gap",
          `chunk ${i} starts at ${s(c.start)}, after chunk ${i - 1} ends (${s(before.end)})`,
        );
      }
      if (before.end - c.start > MAX_OVERLAP_SECONDS + eps) {
        return refuse(
          "bounded overlap",
          `chunk ${i} overlaps chunk ${i - 1} by ${s(before.end - c.start)}, more than ${
            s(MAX_OVERLAP_SECONDS)
          }`,
        );
      }
      if (c.end <= before.end) {
        return refuse(
          "moves on",
          `chunk ${i} ends at ${s(c.end)}, not after chunk ${i - 1} (${s(before.end)})`,
        );
      }
    }
    if (c.overlap_before > MAX_OVERLAP_SECONDS) {
      return refuse(
        "bounded overlap",
        `chunk ${i} declares overlap_before ${s(c.overlap_before)}, more than ${
          s(MAX_OVERLAP_SECONDS)
        }`,
      );
    }
    if (length > MAX_CHUNK_SECONDS) {
      return refuse(
        "longest chunk",
        `chunk ${i} is ${s(length)} long, more than ${s(MAX_CHUNK_SECONDS)}`,
      );
    }
    if (i < chunks.length - 1 && length < MIN_CHUNK_SECONDS - eps) {
      return refuse(
        "shortest chunk",
        `chunk ${i} is ${s(length)} long; every chunk but the last must be at least ${
          s(MIN_CHUNK_SECONDS)
        }`,
      );
    }
  }
  const last = chunks[chunks.length - 1];
  if (Math.abs(last.end - duration) > eps) {
    return refuse(
      "ends with the audio",
      `chunk ${last.index} ends at ${s(last.end)} but source.duration says ${
        s(duration)
      } (the audio track's length, not the container's)`,
    );
  }
  return null;
}

/** The first chunk whose probed length (seconds, same order) is not its window's, or null. */
export function probedRefusal(
  chunks: ManifestPlan["chunks"],
  probed: number[],
): Refusal | null {
  for (const [i, c] of chunks.entries()) {
    const declared = c.end - c.start;
    if (Math.abs(probed[i] - declared) > TIME_TOLERANCE_SECONDS) {
      return refuse(
        "probed duration",
        `chunk ${i} is ${probed[i].toFixed(1)} s long but its window says ${s(declared)}`,
      );
    }
  }
  return null;
}
