/**
 * The offline engine end to end: any file ffmpeg reads -> 16 kHz mono PCM -> pieces cut at
 * quiet points -> PocketSphinx per piece in parallel -> words and segments on one timeline.
 */
import { planPieces, SAMPLE_RATE } from "./pieces.ts";
import { type RecognizedWord, recognizePieces } from "./pocketsphinx.ts";

/** The upload is not media ffmpeg can turn into audio (garbage, empty, video without sound). */
export class UnreadableMediaError extends Error {
  override name = "UnreadableMediaError";
}

export interface TranscribedSegment {
  start: number;
  end: number;
  text: string;
  words: RecognizedWord[];
}

export interface Transcription {
  /** Seconds of decoded audio. */
  duration: number;
  /** All words joined by single spaces; lowercase and unpunctuated, as the engine hears them. */
  text: string;
  /** One segment per decoded piece that holds words. */
  segments: TranscribedSegment[];
  words: RecognizedWord[];
  /** Wall-clock seconds spent decoding and recognizing. */
  elapsed: number;
}

/** Transcribes the media file at `path`; throws {@link UnreadableMediaError} for bad input. */
export async function transcribeFile(
  path: string,
  options: { concurrency?: number; extraArgs?: string[] } = {},
): Promise<Transcription> {
  const began = performance.now();
  const pcm = await decodeToPcm(path);
  const pieces = planPieces(pcm);
  const perPiece = await recognizePieces(pcm, pieces, options);
  const segments = perPiece
    .filter((words) => words.length > 0)
    .map((words) => ({
      start: words[0].start,
      end: words[words.length - 1].end,
      text: words.map((w) => w.word).join(" "),
      words,
    }));
  const words = segments.flatMap((s) => s.words);
  return {
    duration: pcm.length / SAMPLE_RATE,
    text: words.map((w) => w.word).join(" "),
    segments,
    words,
    elapsed: (performance.now() - began) / 1000,
  };
}

/** Decodes the first audio stream of any container ffmpeg knows to 16 kHz mono 16-bit PCM. */
export async function decodeToPcm(path: string): Promise<Int16Array> {
  if ((await Deno.stat(path)).size === 0) throw new UnreadableMediaError("The file is empty.");
  const { success, stdout, stderr } = await new Deno.Command("ffmpeg", {
    args: [
      ["-nostdin", "-v", "error", "-i", path],
      ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", String(SAMPLE_RATE)],
      ["-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"],
    ].flat(),
    stdin: "null",
  }).output();
  if (!success) {
    const reason = (new TextDecoder().decode(stderr).trim().split("\n").pop() ?? "")
      .replaceAll(path, "input");
    throw new UnreadableMediaError(`The file could not be read as audio or video (${reason}).`);
  }
  // The pipe hands back a fresh buffer; view it as samples without copying when aligned.
  const usable = stdout.byteLength - (stdout.byteLength % 2);
  return stdout.byteOffset % 2 === 0
    ? new Int16Array(stdout.buffer, stdout.byteOffset, usable / 2)
    : new Int16Array(stdout.slice(0, usable).buffer);
}
