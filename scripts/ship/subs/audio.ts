/**
 * The audio of a recording, cut into chunk files on this machine: the native ffmpeg when it is
 * installed (the same cuts and commands as ffmpeg.wasm in the browser, web/src/media/
 * ffmpeg_plan.ts), else mediabunny (web/src/media/extract.ts, packets copied as the web app
 * does; that path reads the whole file into memory). The video never leaves the machine.
 */
import { manifestChunk } from "../../../web/src/media/chunk_plan.ts";
import { extractAudio, NoAudioError, probeAudioTrack } from "../../../web/src/media/extract.ts";
import { ffmpegChunkArgs, ffmpegChunks } from "../../../web/src/media/ffmpeg_plan.ts";
import type { ManifestAudio, NamedChunk } from "../../../web/src/media/manifest.ts";
import { recordingHashOfReader } from "../../../web/src/media/recording_hash.ts";
import { join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";

/** One chunk file on disk, ready for upload. */
export interface ChunkFile extends NamedChunk {
  file: string;
  bytes: number;
  contentType: string;
}

export interface LocalAudio extends ManifestAudio {
  /** Seconds of audio: where the last chunk ends (recording_windows.ts). */
  duration: number;
  /** Where the audio starts on the video's timeline (manifest `source.audio_start`). */
  audioStart: number;
  chunks: ChunkFile[];
}

const decoder = new TextDecoder();
export const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

async function hasFfmpeg(): Promise<boolean> {
  try {
    const out = await new Deno.Command("ffmpeg", {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** What the CLI learns of a recording before it hashes or uploads anything. */
export interface RecordingProbe {
  /** Codec of the audio track that will be transcribed (ffmpeg's or mediabunny's name). */
  codec: string;
  /** Its bitrate in kbit/s when known. */
  kbps: number | null;
  /** Seconds of that audio track (its own length, not the container's). */
  audioSeconds: number;
  /** Where it starts on the video's timeline, seconds. */
  audioStart: number;
  /** ffmpeg's stream specifier of that track (the default audio track), e.g. "0:2". */
  stream: string;
  /** Which of the file's audio tracks that is (1-based), and how many there are. */
  track: number;
  tracks: number;
}

const chooseExtractor = async (extractor = Deno.env.get("SUBS_EXTRACTOR")) =>
  extractor === "ffmpeg" || (extractor !== "mediabunny" && await hasFfmpeg())
    ? "ffmpeg"
    : "mediabunny";

/**
 * Reads `input`'s audio track (the default one when there are several) without extracting it:
 * refused here, before any hashing or upload, when there is none or it cannot be read.
 */
export async function probeRecording(
  input: string,
  extractor = Deno.env.get("SUBS_EXTRACTOR"),
): Promise<RecordingProbe> {
  if (await chooseExtractor(extractor) === "ffmpeg") return await probeWithFfprobe(input);
  const file = new File([await Deno.readFile(input)], basename(input));
  try {
    const found = await probeAudioTrack(file);
    return { ...found, kbps: null, stream: `0:a:${found.track - 1}` };
  } catch (error) {
    throw asMediaError(error);
  }
}

const FfprobeReport = z.object({
  streams: z.array(
    z.object({
      index: z.number(),
      codec_type: z.string().optional(),
      codec_name: z.string().optional(),
      start_time: z.string().optional(),
      duration: z.string().optional(),
      bit_rate: z.string().optional(),
      disposition: z.object({ default: z.number().optional() }).loose().optional(),
      tags: z.record(z.string(), z.string()).optional(),
    }).loose(),
  ).default([]),
  format: z.object({ start_time: z.string().optional(), duration: z.string().optional() }).loose()
    .optional(),
});

/** HH:MM:SS.fraction (Matroska's DURATION tag) in seconds. */
const clockSeconds = (text: string | undefined) => {
  const m = text ? /^(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(text) : null;
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
};

async function probeWithFfprobe(input: string): Promise<RecordingProbe> {
  const out = await new Deno.Command("ffprobe", {
    args: [
      ...["-v", "error", "-of", "json", "-show_entries"],
      "stream=index,codec_type,codec_name,start_time,duration,bit_rate:stream_disposition=default" +
      ":stream_tags=DURATION:format=start_time,duration",
      input,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => null);
  const report = out?.success
    ? FfprobeReport.safeParse(JSON.parse(decoder.decode(out.stdout) || "{}"))
    : null;
  if (!report?.success) {
    throw new CliError(
      "unreadable_media",
      `This file could not be read as audio or video; it may be damaged or not a recording (ffprobe: ${
        decoder.decode(out?.stderr ?? new Uint8Array()).trim().slice(0, 200)
      }).`,
    );
  }
  const audio = report.data.streams.filter((s) => s.codec_type === "audio");
  const track = audio.find((s) => s.disposition?.default === 1) ?? audio[0];
  if (!track) throw new CliError("no_audio", "This file has no sound track to transcribe.");
  if (!track.codec_name || track.codec_name === "none") {
    throw new CliError(
      "unsupported_codec",
      "The sound track of this file is in a format we cannot read; convert it to AAC, MP3 or WAV.",
    );
  }
  const zero = Number(report.data.format?.start_time ?? 0) || 0;
  const start = Number(track.start_time ?? zero) || 0;
  const seconds = Number(track.duration) ||
    clockSeconds(track.tags?.DURATION) - start ||
    Number(report.data.format?.duration) - (start - zero);
  if (!(seconds > 0)) {
    throw new CliError("empty_audio", "The sound track of this file is empty.");
  }
  const kbps = Number(track.bit_rate) / 1000;
  return {
    codec: track.codec_name,
    kbps: kbps > 0 ? Math.round(kbps) : null,
    audioSeconds: seconds,
    audioStart: Math.max(0, start - zero),
    stream: `0:${track.index}`,
    track: audio.indexOf(track) + 1,
    tracks: audio.length,
  };
}

/**
 * Cuts the audio of `input` into `dir`; `onProgress` gets 0..1. SUBS_EXTRACTOR=ffmpeg or
 * mediabunny chooses instead of the default (ffmpeg when installed).
 */
export async function extractToFiles(
  input: string,
  dir: string,
  onProgress: (fraction: number) => void = () => {},
  extractor = Deno.env.get("SUBS_EXTRACTOR"),
): Promise<LocalAudio> {
  await Deno.mkdir(dir, { recursive: true });
  if (await chooseExtractor(extractor) === "ffmpeg") {
    return await withFfmpeg(input, await probeWithFfprobe(input), dir, onProgress);
  }
  return await withMediabunny(input, dir, onProgress);
}

/** Seconds of audio in a chunk file ffmpeg wrote (audio only: the container's is the track's). */
async function chunkSeconds(file: string): Promise<number> {
  const out = await new Deno.Command("ffprobe", {
    args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(decoder.decode(out.stdout).trim());
}

async function withFfmpeg(
  input: string,
  probe: RecordingProbe,
  dir: string,
  onProgress: (f: number) => void,
): Promise<LocalAudio> {
  const { target, copy, seconds, chunks: cuts } = ffmpegChunks(
    probe.audioSeconds,
    probe.codec,
    probe.kbps,
  );
  const chunks: ChunkFile[] = [];
  for (const cut of cuts) {
    onProgress(cut.index / cuts.length);
    const file = join(dir, cut.name);
    // Seeks on the audio track's timeline: the chunk starts with the audio, not the picture.
    const args = ffmpegChunkArgs(input, cut, copy, file, probe.stream, probe.audioStart);
    const out = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", ...args],
      stdout: "null",
      stderr: "piped",
    }).output();
    const bytes = out.success ? (await Deno.stat(file)).size : 0;
    const held = bytes > 0 ? await chunkSeconds(file) : 0;
    if (!out.success || !(held > 0)) {
      throw new CliError(
        "unreadable_media",
        `We could not read the sound of this recording; it may be damaged, or its codec (${probe.codec}) unreadable here (ffmpeg: ${
          decoder.decode(out.stderr).trim().slice(0, 200)
        }).`,
      );
    }
    // The window is what the file holds, so the manifest never claims more than was cut.
    chunks.push({
      ...manifestChunk(cut.index, cut.name, cut.from, cut.from + held, seconds),
      name: cut.name,
      file,
      bytes,
      contentType: target.mimeType,
    });
  }
  onProgress(1);
  return {
    duration: chunks[chunks.length - 1].end,
    audioStart: probe.audioStart,
    codec: copy ? probe.codec : "aac",
    container: target.container,
    method: "ffmpeg",
    chunks,
  };
}

/** A failure of mediabunny's reading as the CLI's error. */
function asMediaError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof NoAudioError) return new CliError(error.code, error.message);
  return new CliError(
    "unreadable_media",
    `This file could not be read as audio or video without ffmpeg (${
      (error as Error).message
    }); install ffmpeg, or check that the file is not damaged.`,
  );
}

async function withMediabunny(
  input: string,
  dir: string,
  onProgress: (f: number) => void,
): Promise<LocalAudio> {
  const file = new File([await Deno.readFile(input)], basename(input));
  let audio;
  try {
    audio = await extractAudio(file, { onProgress });
  } catch (error) {
    throw asMediaError(error);
  }
  const chunks: ChunkFile[] = [];
  for (const chunk of audio.chunks) {
    const path = join(dir, chunk.name);
    await Deno.writeFile(path, new Uint8Array(await chunk.blob.arrayBuffer()));
    const { blob: _blob, ...plan } = chunk;
    chunks.push({ ...plan, file: path, bytes: chunk.blob.size, contentType: chunk.blob.type });
  }
  return {
    duration: audio.duration,
    audioStart: audio.audioStart,
    codec: audio.codec,
    container: audio.container,
    method: audio.method,
    chunks,
  };
}

/**
 * The recording's hash for `media.sha256`, the same digest the web app computes. The one call
 * site of the hash in this client.
 */
export async function recordingHash(
  path: string,
  onProgress: (fraction: number) => void = () => {},
): Promise<string> {
  const size = (await Deno.stat(path)).size;
  const file = await Deno.open(path);
  try {
    // Slices are read in order from the one open file while several are digested at once.
    return await recordingHashOfReader(size, async (start, end) => {
      await file.seek(start, Deno.SeekMode.Start);
      const bytes = new Uint8Array(end - start);
      let at = 0;
      while (at < bytes.length) {
        const n = await file.read(bytes.subarray(at));
        if (n === null) throw new Error(`${path} ended early`);
        at += n;
      }
      return bytes;
    }, { onProgress });
  } finally {
    file.close();
  }
}
