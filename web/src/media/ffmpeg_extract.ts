/**
 * Fallback for files mediabunny cannot read (AVI, FLV, WMV, …): ffmpeg.wasm (single-threaded
 * core, served from web/dist, loaded only here). The file is mounted read-only (WORKERFS), so
 * it is never copied into WASM memory; each chunk is a seek plus a stream copy when the codec
 * fits a container the providers accept, else AAC at 64 kb/s mono.
 */
import { FFFSType, FFmpeg } from "@ffmpeg/ffmpeg";
// Vite asset URLs (the files are copied into web/dist): only the web build resolves `?url`, so
// `deno check` is told to skip these two.
// @ts-ignore: resolved by Vite
import coreURL from "@ffmpeg/core?url";
// @ts-ignore: resolved by Vite
import wasmURL from "@ffmpeg/core/wasm?url";
import { manifestChunk } from "./chunk_plan.ts";
import type { AudioChunk, ExtractedAudio, ExtractOptions } from "./extract.ts";
import { NoAudioError } from "./extract.ts";
import { ffmpegChunkArgs, ffmpegChunks, parseProbe } from "./ffmpeg_plan.ts";

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
      throw new NoAudioError("The length of this recording could not be read.", "empty_audio");
    }
    const { target, copy, seconds, chunks: cuts } = ffmpegChunks(duration, codec, kbps);
    const count = cuts.length;
    const chunks: AudioChunk[] = [];
    let current = 0;
    ffmpeg.on("progress", ({ progress }) => {
      if (progress >= 0 && progress <= 1) onProgress?.((current + progress) / count);
    });
    for (const cut of cuts) {
      await gate?.passage(signal);
      current = cut.index;
      const code = await ffmpeg.exec(ffmpegChunkArgs(input, cut, copy, `/${cut.name}`));
      if (code !== 0) {
        throw new NoAudioError(
          `We could not read the sound of this recording (ffmpeg exit ${code}).`,
          "unsupported_codec",
        );
      }
      // The window is what the chunk holds (its own report: an audio-only file), not the plan.
      log = "";
      await ffmpeg.exec(["-hide_banner", "-i", `/${cut.name}`]);
      const held = parseProbe(log).duration ?? 0;
      const data = await ffmpeg.readFile(`/${cut.name}`);
      await ffmpeg.deleteFile(`/${cut.name}`);
      if (typeof data === "string" || data.byteLength === 0 || !(held > 0)) {
        throw new NoAudioError("This file's sound track is empty.", "empty_audio");
      }
      const plan = manifestChunk(cut.index, cut.name, cut.from, cut.from + held, seconds);
      chunks.push({
        ...plan,
        name: cut.name,
        blob: new Blob([data as Uint8Array<ArrayBuffer>], { type: target.mimeType }),
      });
    }
    onProgress?.(1);
    return {
      duration: chunks[chunks.length - 1].end,
      // ffmpeg's report gives no start per stream; the audio is taken to start with the file.
      audioStart: 0,
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
