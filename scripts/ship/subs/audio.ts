/**
 * The audio of a recording, cut into chunk files on this machine: the native ffmpeg when it is
 * installed (the same cuts and commands as ffmpeg.wasm in the browser, web/src/media/
 * ffmpeg_plan.ts), else mediabunny (web/src/media/extract.ts, packets copied as the web app
 * does; that path reads the whole file into memory). The video never leaves the machine.
 */
import { manifestChunk } from "../../../web/src/media/chunk_plan.ts";
import { extractAudio, NoAudioError } from "../../../web/src/media/extract.ts";
import { ffmpegChunkArgs, ffmpegChunks, parseProbe } from "../../../web/src/media/ffmpeg_plan.ts";
import type { ManifestAudio, NamedChunk } from "../../../web/src/media/manifest.ts";
import { recordingHashOfReader } from "../../../web/src/media/recording_hash.ts";
import { join } from "node:path";
import { CliError } from "./errors.ts";

/** One chunk file on disk, ready for upload. */
export interface ChunkFile extends NamedChunk {
  file: string;
  bytes: number;
  contentType: string;
}

export interface LocalAudio extends ManifestAudio {
  duration: number;
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
  const useFfmpeg = extractor === "ffmpeg" || (extractor !== "mediabunny" && await hasFfmpeg());
  if (useFfmpeg) return await withFfmpeg(input, dir, onProgress);
  return await withMediabunny(input, dir, onProgress);
}

async function withFfmpeg(
  input: string,
  dir: string,
  onProgress: (f: number) => void,
): Promise<LocalAudio> {
  const probe = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-i", input],
    stderr: "piped",
    stdout: "null",
  })
    .output();
  const { duration, codec, kbps } = parseProbe(decoder.decode(probe.stderr));
  if (!codec) throw new CliError("no_audio", "This file has no sound track to transcribe.");
  if (!duration || !(duration > 0)) {
    throw new CliError("unreadable_media", "The length of this recording could not be read.");
  }
  const { target, copy, seconds, chunks: cuts } = ffmpegChunks(duration, codec, kbps);
  const chunks: ChunkFile[] = [];
  for (const cut of cuts) {
    onProgress(cut.index / cuts.length);
    const file = join(dir, cut.name);
    const out = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", ...ffmpegChunkArgs(input, cut, copy, file)],
      stdout: "null",
      stderr: "piped",
    }).output();
    const bytes = out.success ? (await Deno.stat(file)).size : 0;
    if (!out.success || bytes === 0) {
      throw new CliError(
        "unreadable_media",
        `We could not read the sound of this recording (ffmpeg: ${
          decoder.decode(out.stderr).trim().slice(0, 200)
        }).`,
      );
    }
    chunks.push({
      ...manifestChunk(cut.index, cut.name, cut.from, cut.to, seconds),
      name: cut.name,
      file,
      bytes,
      contentType: target.mimeType,
    });
  }
  onProgress(1);
  return {
    duration,
    codec: copy ? codec : "aac",
    container: target.container,
    method: "ffmpeg",
    chunks,
  };
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
    if (error instanceof NoAudioError) throw new CliError("no_audio", error.message);
    throw new CliError(
      "unreadable_media",
      `This file could not be read as audio or video without ffmpeg (${
        (error as Error).message
      }); install ffmpeg.`,
    );
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
