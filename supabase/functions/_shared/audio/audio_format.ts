/**
 * What kind of audio file a step is looking at, decided once from its first bytes: a PCM WAV
 * (cut by byte range), an MP3 (cut by frames, mp3_frames.ts) or any other container (demuxed
 * by mediabunny, audio_window.ts). prepare and transcribe both ask here.
 */
import { HEAD_BYTES, readRange } from "./media.ts";
import { type Mp3Layout, mp3Layout } from "./mp3_frames.ts";
import { readWavHeader, type WavHeader } from "./wav.ts";

export type AudioFormat =
  | { kind: "wav"; wav: WavHeader; size: number }
  | { kind: "mp3"; mp3: Mp3Layout; size: number }
  | { kind: "container"; size: number };

/** The format of a file whose first bytes are `head` and whose total size is `size`. */
export function detectFormat(head: Uint8Array, size: number): AudioFormat {
  const wav = readWavHeader(head);
  if (wav) return { kind: "wav", wav, size };
  const mp3 = mp3Layout(head, size);
  if (mp3) return { kind: "mp3", mp3, size };
  return { kind: "container", size };
}

/** The format of the object at `url` (a signed Storage URL), reading only its first bytes. */
export async function detectUrlFormat(url: string): Promise<AudioFormat> {
  const head = await readRange(url, 0, HEAD_BYTES - 1);
  return detectFormat(head.bytes, head.size);
}

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

/** The MIME type to send a whole file as: by its content first, then its name, then `fallback`. */
export function mimeTypeOf(bytes: Uint8Array, filename: string, fallback: string): string {
  const format = detectFormat(bytes.subarray(0, HEAD_BYTES), bytes.length);
  if (format.kind === "wav") return "audio/wav";
  if (format.kind === "mp3") return "audio/mpeg";
  const extension = filename.split(".").pop()?.toLowerCase() ?? "";
  return MIME_BY_EXTENSION[extension] ?? (fallback || "application/octet-stream");
}
