/**
 * How ffmpeg cuts a recording's audio into the chunks of chunk_plan.ts: what its probe report
 * says, which codecs are copied into which container, and the command of each chunk. Shared by
 * ffmpeg.wasm in the browser (ffmpeg_extract.ts) and the native ffmpeg of the command-line
 * client (scripts/subs), so both upload the same chunks.
 *
 * Pure logic without browser APIs, so Deno unit tests cover it (ffmpeg_plan_test.ts).
 */
import { chunkCount, CHUNK_SECONDS, OVERLAP_SECONDS } from "./chunk_plan.ts";

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
export const ENCODE_TARGET: ChunkTarget = { extension: "m4a", mimeType: "audio/mp4", container: "mp4" };

/** Duration and audio codec from ffmpeg's report on the input (`ffmpeg -i`). */
export function parseProbe(log: string): { duration: number | null; codec: string | null } {
  const d = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(log);
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null;
  const a = /Stream #\d+:\d+[^:]*: Audio: ([a-z0-9_]+)/.exec(log);
  return { duration, codec: a ? a[1] : null };
}

/** One chunk to cut: seconds `from`..`to` of the recording into the file `name`. */
export interface FfmpegChunk {
  index: number;
  from: number;
  to: number;
  name: string;
}

/** The chunks of a recording of `duration` seconds whose audio is `codec`, and their format. */
export function ffmpegChunks(
  duration: number,
  codec: string,
): { target: ChunkTarget; copy: boolean; chunks: FfmpegChunk[] } {
  const copy = codec in COPY_TARGETS;
  const target = COPY_TARGETS[codec] ?? ENCODE_TARGET;
  const chunks: FfmpegChunk[] = [];
  for (let index = 0; index < chunkCount(duration); index++) {
    const from = index === 0 ? 0 : index * CHUNK_SECONDS - OVERLAP_SECONDS;
    const to = Math.min(duration, (index + 1) * CHUNK_SECONDS);
    chunks.push({ index, from, to, name: `chunk-${String(index).padStart(3, "0")}.${target.extension}` });
  }
  // The last window takes the tail slack (chunk_plan.ts): it ends at the recording's end.
  chunks[chunks.length - 1].to = duration;
  return { target, copy, chunks };
}

/** ffmpeg's arguments that write `chunk` of `input` to `output`: a seek, then copy or encode. */
export function ffmpegChunkArgs(input: string, chunk: FfmpegChunk, copy: boolean, output: string): string[] {
  const codecArgs = copy ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "64k", "-ac", "1"];
  return [
    "-hide_banner", "-ss", String(chunk.from), "-t", String(chunk.to - chunk.from), "-i", input,
    "-vn", "-sn", "-map", "0:a:0", ...codecArgs, output,
  ];
}
