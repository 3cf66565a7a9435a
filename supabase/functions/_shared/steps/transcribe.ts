/** transcribe: one chunk through the configured engine, times shifted to the recording's. */
import type { StepOutput } from "../contract.ts";
import { transcriptionProviderFromEnv } from "../providers/config.ts";
import type { StepContext } from "../step_runtime.ts";
import type { Transcript } from "../transcript.ts";
import { downloadMedia } from "./media.ts";
import { readWavHeader, wavFile } from "./wav.ts";

const MIME_BY_EXTENSION: Record<string, string> = {
  m4a: "audio/mp4",
  mp4: "audio/mp4",
  aac: "audio/aac",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  webm: "audio/webm",
  wav: "audio/wav",
  flac: "audio/flac",
};

export function shiftTranscript(t: Transcript, offset: number): Transcript {
  const at = (s: number) => Math.round((s + offset) * 1000) / 1000;
  return {
    ...t,
    segments: t.segments.map((s) => ({
      ...s,
      start: at(s.start),
      end: at(s.end),
      words: s.words?.map((w) => ({ ...w, start: at(w.start), end: at(w.end) })),
    })),
  };
}

export async function transcribeStep(
  ctx: StepContext<"transcribe">,
): Promise<StepOutput<"transcribe">> {
  const { chunk } = ctx.input;
  const { options } = ctx.claim.job;
  ctx.progress(0.05, `Downloading chunk ${chunk.index + 1}`);
  const blob = await downloadMedia(ctx.supabase, chunk.path);
  let audio: Uint8Array = new Uint8Array(await blob.arrayBuffer());
  const extension = chunk.path.split(".").pop()?.toLowerCase() ?? "";
  const wav = readWavHeader(audio.subarray(0, 4096));
  // A window of a single long WAV: cut it by byte range (block-aligned).
  if (wav && (chunk.start > 0 || (audio.length - wav.dataOffset) / wav.byteRate > chunk.end + 1)) {
    const from = wav.dataOffset + Math.floor(chunk.start * wav.sampleRate) * wav.blockAlign;
    const to = wav.dataOffset + Math.floor(chunk.end * wav.sampleRate) * wav.blockAlign;
    audio = wavFile(wav, audio.subarray(from, Math.min(to, audio.length)));
  }
  ctx.progress(0.2, `Transcribing chunk ${chunk.index + 1}`);
  const provider = transcriptionProviderFromEnv();
  const transcript = await provider.transcribe({
    audio,
    mimeType: wav
      ? "audio/wav"
      : MIME_BY_EXTENSION[extension] ?? blob.type ?? "application/octet-stream",
    filename: chunk.path.split("/").pop() ?? "chunk",
    language: options.language === "auto" ? undefined : options.language,
    speakers: {
      num: options.num_speakers ?? undefined,
      min: options.min_speakers ?? undefined,
      max: options.max_speakers ?? undefined,
    },
    signal: ctx.signal,
  });
  return {
    transcript: { ...shiftTranscript(transcript, chunk.start), duration: chunk.end - chunk.start },
  };
}
