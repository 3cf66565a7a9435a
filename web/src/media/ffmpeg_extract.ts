/**
 * Fallback for files mediabunny cannot read (AVI, FLV, WMV, …): ffmpeg.wasm (single-threaded
 * core, served from web/dist, loaded only here). The file is mounted read-only (WORKERFS), so
 * it is never copied into WASM memory; each chunk is a seek plus a stream copy when the codec
 * fits a container the providers accept, else AAC at 64 kb/s mono.
 */
import { FFFSType, FFmpeg } from "@ffmpeg/ffmpeg";
import coreURL from "@ffmpeg/core?url";
import wasmURL from "@ffmpeg/core/wasm?url";
import { chunkCount, chunkSecondsFor, manifestChunk, OVERLAP_SECONDS } from "./chunk_plan.ts";
import { parseProbe } from "./ffmpeg_probe.ts";
import type { AudioChunk, ExtractedAudio, ExtractOptions } from "./extract.ts";
import { NoAudioError } from "./extract.ts";

/** Codecs ffmpeg names in its stream line, copied into a container the providers accept. */
const COPY_TARGETS: Record<string, { extension: string; mimeType: string; container: string }> = {
  aac: { extension: "m4a", mimeType: "audio/mp4", container: "mp4" },
  mp3: { extension: "mp3", mimeType: "audio/mpeg", container: "mp3" },
  opus: { extension: "ogg", mimeType: "audio/ogg", container: "ogg" },
  vorbis: { extension: "ogg", mimeType: "audio/ogg", container: "ogg" },
};

export async function extractWithFfmpeg(
  file: File,
  { onProgress, gate, signal }: ExtractOptions,
): Promise<ExtractedAudio> {
  const ffmpeg = new FFmpeg();
  const onAbort = () => ffmpeg.terminate();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await ffmpeg.load({ coreURL, wasmURL });
    await ffmpeg.createDir("/in");
    await ffmpeg.mount(FFFSType.WORKERFS, { files: [file] }, "/in");
    const input = `/in/${file.name}`;

    let log = "";
    ffmpeg.on("log", ({ message }) => (log += message + "\n"));
    await ffmpeg.exec(["-hide_banner", "-i", input]); // exits 1 (no output); the report is the point
    const { duration, codec, kbps } = parseProbe(log);
    if (!codec) throw new NoAudioError("This file has no sound track to transcribe.");
    if (!duration || !(duration > 0)) {
      throw new NoAudioError("The length of this recording could not be read.");
    }
    const copy = COPY_TARGETS[codec];
    const target = copy ?? { extension: "m4a", mimeType: "audio/mp4", container: "mp4" };
    const codecArgs = copy ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "64k", "-ac", "1"];

    // Copied audio keeps its bitrate (unknown: assume 320 kbit/s); encoded AAC is 64 kbit/s.
    const seconds = chunkSecondsFor(copy ? (kbps ?? 320) * 125 : 64 * 125);
    const count = chunkCount(duration, seconds);
    const chunks: AudioChunk[] = [];
    let current = 0;
    ffmpeg.on("progress", ({ progress }) => {
      if (progress >= 0 && progress <= 1) onProgress?.((current + progress) / count);
    });
    for (let index = 0; index < count; index++) {
      await gate?.passage(signal);
      current = index;
      const from = index === 0 ? 0 : index * seconds - OVERLAP_SECONDS;
      const to = index === count - 1 ? duration : Math.min(duration, (index + 1) * seconds);
      const name = `chunk-${String(index).padStart(3, "0")}.${target.extension}`;
      const code = await ffmpeg.exec([
        "-hide_banner", "-ss", String(from), "-t", String(to - from), "-i", input,
        "-vn", "-sn", "-map", "0:a:0", ...codecArgs, `/${name}`,
      ]);
      if (code !== 0) throw new Error(`ffmpeg could not extract the sound (exit ${code})`);
      const data = await ffmpeg.readFile(`/${name}`);
      await ffmpeg.deleteFile(`/${name}`);
      if (typeof data === "string" || data.byteLength === 0) {
        throw new NoAudioError("This file's sound track is empty.");
      }
      const plan = manifestChunk(index, name, from, to, seconds);
      chunks.push({ ...plan, name, blob: new Blob([data as Uint8Array<ArrayBuffer>], { type: target.mimeType }) });
    }
    onProgress?.(1);
    return {
      duration,
      codec: copy ? codec : "aac",
      container: target.container,
      method: "ffmpeg",
      chunks,
    };
  } finally {
    signal?.removeEventListener("abort", onAbort);
    ffmpeg.terminate();
  }
}
