/**
 * How ffmpeg cuts a recording's audio into the chunks of chunk_plan.ts: what its probe report
 * says, which codecs are copied into which container, and the command of each chunk. Shared by
 * ffmpeg.wasm in the browser (ffmpeg_extract.ts) and the native ffmpeg of the command-line
 * client (scripts/ship/subs), so both upload the same chunks.
 *
 * Pure logic without browser APIs, so Deno unit tests cover it (ffmpeg_plan_test.ts).
 */
import { chunkCount, chunkSecondsFor, OVERLAP_SECONDS } from "./chunk_plan.ts";
export { parseProbe } from "./ffmpeg_probe.ts";

export interface ChunkTarget {
  extension: string;
  mimeType: string;
  container: string;
}

/** Codecs ffmpeg names in its stream line, copied into a container the providers accept. */
export const COPY_TARGETS: Record<string, ChunkTarget> = {
  aac: { extension: "m4a", mimeType: "audio/mp4", container: "mp4" },
  mp3: { extension: "mp3", mimeType: "audio/mpeg", container: "mp3" },
  opus: { extension: "ogg", mimeType: "audio/ogg", container: "ogg" },
  vorbis: { extension: "ogg", mimeType: "audio/ogg", container: "ogg" },
};

/** What any other codec is encoded to: AAC at 64 kb/s, mono. */
export const ENCODE_TARGET: ChunkTarget = {
  extension: "m4a",
  mimeType: "audio/mp4",
  container: "mp4",
};

/** One chunk to cut: seconds `from`..`to` of the recording into the file `name`. */
export interface FfmpegChunk {
  index: number;
  from: number;
  to: number;
  name: string;
}

/**
 * The chunks of a recording of `duration` seconds whose audio is `codec` at `kbps` (ffmpeg's
 * report; null when it gives none), their length in seconds and their format. Copied audio keeps
 * its bitrate (unknown: assume 320 kbit/s) and encoded AAC is 64 kbit/s; chunks of a high bitrate
 * are cut shorter so that each stays under the upload limit (chunk_plan.ts chunkSecondsFor).
 */
export function ffmpegChunks(
  duration: number,
  codec: string,
  kbps: number | null = null,
): { target: ChunkTarget; copy: boolean; seconds: number; chunks: FfmpegChunk[] } {
  const copy = codec in COPY_TARGETS;
  const target = COPY_TARGETS[codec] ?? ENCODE_TARGET;
  const seconds = chunkSecondsFor(copy ? (kbps ?? 320) * 125 : 64 * 125);
  const chunks: FfmpegChunk[] = [];
  for (let index = 0; index < chunkCount(duration, seconds); index++) {
    const from = index === 0 ? 0 : index * seconds - OVERLAP_SECONDS;
    const to = Math.min(duration, (index + 1) * seconds);
    chunks.push({
      index,
      from,
      to,
      name: `chunk-${String(index).padStart(3, "0")}.${target.extension}`,
    });
  }
  // The last window takes the tail slack (chunk_plan.ts): it ends at the recording's end.
  chunks[chunks.length - 1].to = duration;
  return { target, copy, seconds, chunks };
}

/**
 * ffmpeg's arguments that write `chunk` of `input` to `output`: a seek, then copy or encode.
 * `stream` is the audio track (ffmpeg's specifier; the first one by default) and `audioStart`
 * where it starts in the file, so the seek is on the audio's own timeline (recording_windows.ts).
 */
export function ffmpegChunkArgs(
  input: string,
  chunk: FfmpegChunk,
  copy: boolean,
  output: string,
  stream = "0:a:0",
  audioStart = 0,
): string[] {
  const codecArgs = copy ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "64k", "-ac", "1"];
  const from = Math.round((audioStart + chunk.from) * 1000) / 1000;
  return [
    "-hide_banner",
    "-ss",
    String(from),
    "-t",
    String(chunk.to - chunk.from),
    "-i",
    input,
    "-vn",
    "-sn",
    "-map",
    stream,
    ...codecArgs,
    output,
  ];
}
