/** transcribe: one chunk through the configured engine, times shifted to the recording's. */
import type { StepOutput } from "../contract.ts";
import { transcriptionProviderFromEnv } from "../providers/config.ts";
import type { StepContext } from "../step_runtime.ts";
import type { Transcript } from "../transcript.ts";
import { cutAudioWindow, urlSource } from "./audio_window.ts";
import { downloadMedia, HEAD_BYTES, readRange, signedMediaUrl } from "./media.ts";
import { mp3Layout, mp3Window, mp3WindowRange } from "./mp3_frames.ts";
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

/** The audio of one chunk and where it starts and ends in the recording. */
export interface ChunkAudio {
  audio: Uint8Array;
  mimeType: string;
  filename: string;
  start: number;
  end: number;
}

/**
 * A chunk the browser uploaded is a file of its own; a window of a single long upload is cut
 * out of it here, reading only its byte range (WAV) or its packets (anything else).
 */
async function chunkAudio(ctx: StepContext<"transcribe">): Promise<ChunkAudio> {
  const { chunk } = ctx.input;
  const { media } = ctx.claim.job;
  const filename = chunk.path.split("/").pop() ?? "chunk";
  const whole = chunk.start === 0 && (media.duration ?? Infinity) <= chunk.end + 0.5;
  if (chunk.path !== media.path || whole) {
    const blob = await downloadMedia(ctx.supabase, chunk.path);
    const audio = new Uint8Array(await blob.arrayBuffer());
    const extension = filename.split(".").pop()?.toLowerCase() ?? "";
    const mimeType = readWavHeader(audio.subarray(0, 4096))
      ? "audio/wav"
      : MIME_BY_EXTENSION[extension] ?? (blob.type || "application/octet-stream");
    return { audio, mimeType, filename, start: chunk.start, end: chunk.end };
  }
  const url = await signedMediaUrl(ctx.supabase, chunk.path);
  return await readWindow(url, chunk.start, chunk.end, `${filename}.${chunk.index}`);
}

/**
 * The window `start`..`end` of the recording at `url`, reading only what it needs: a byte
 * range of PCM (WAV) or of frames (MP3), else the container's index and the window's packets.
 */
export async function readWindow(
  url: string,
  start: number,
  end: number,
  name: string,
): Promise<ChunkAudio> {
  const head = await readRange(url, 0, HEAD_BYTES - 1);
  const wav = readWavHeader(head.bytes);
  const mp3 = wav ? null : mp3Layout(head.bytes, head.size);
  if (mp3) {
    const [from, to] = mp3WindowRange(mp3, start, end);
    const range = await readRange(url, from, Math.min(to, head.size - 1));
    const window = mp3Window(mp3, range.bytes, from, start);
    return {
      audio: window.bytes,
      mimeType: "audio/mpeg",
      filename: `${name}.mp3`,
      start: window.start,
      end: window.end,
    };
  }
  if (wav) {
    // Block-aligned byte range of the window.
    const from = wav.dataOffset + Math.floor(start * wav.sampleRate) * wav.blockAlign;
    const to = wav.dataOffset + Math.floor(end * wav.sampleRate) * wav.blockAlign;
    const pcm = await readRange(url, from, Math.min(to, head.size) - 1);
    return {
      audio: wavFile(wav, pcm.bytes),
      mimeType: "audio/wav",
      filename: `${name}.wav`,
      start,
      end: start + pcm.bytes.length / wav.byteRate,
    };
  }
  const window = await cutAudioWindow(urlSource(url), start, end);
  return {
    audio: window.bytes,
    mimeType: window.mimeType,
    filename: `${name}.${window.extension}`,
    start: window.start,
    end: window.end,
  };
}

export async function transcribeStep(
  ctx: StepContext<"transcribe">,
): Promise<StepOutput<"transcribe">> {
  const { chunk } = ctx.input;
  const { options } = ctx.claim.job;
  ctx.progress(0.05, `Reading chunk ${chunk.index + 1}`);
  const piece = await chunkAudio(ctx);
  ctx.progress(0.2, `Transcribing chunk ${chunk.index + 1}`);
  const provider = transcriptionProviderFromEnv();
  const transcript = await provider.transcribe({
    audio: piece.audio,
    mimeType: piece.mimeType,
    filename: piece.filename,
    language: options.language === "auto" ? undefined : options.language,
    speakers: {
      num: options.num_speakers ?? undefined,
      min: options.min_speakers ?? undefined,
      max: options.max_speakers ?? undefined,
    },
    signal: ctx.signal,
  });
  return {
    transcript: { ...shiftTranscript(transcript, piece.start), duration: piece.end - piece.start },
  };
}
