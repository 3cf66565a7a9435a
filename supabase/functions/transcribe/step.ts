/** transcribe: one chunk through the configured engine, times shifted to the recording's. */
import type { StepOutput } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import { AUDIO_UPLOAD_BYTES } from "../_shared/engine/limits.ts";
import { mergeChunks } from "../_shared/subtitles/chunk_merge.ts";
import { transcriptionProviderFromEnv } from "../_shared/providers/config.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { shiftTranscript } from "../_shared/subtitles/transcript.ts";
import { type AudioFormat, detectUrlFormat, mimeTypeOf } from "../_shared/audio/audio_format.ts";
import {
  audioLeadOf,
  BufferSource,
  cutAudioWindow,
  urlSource,
} from "../_shared/audio/audio_window.ts";
import { readRange, signedMediaUrl, streamRange } from "../_shared/audio/media.ts";
import { mp3Window, mp3WindowRange } from "../_shared/audio/mp3_frames.ts";
import { SpeechDownmix, wavFile } from "../_shared/audio/wav.ts";

/** The audio of one upload to the engine and where it starts and ends in its file. */
export interface ChunkAudio {
  audio: Uint8Array;
  mimeType: string;
  filename: string;
  start: number;
  end: number;
}

/** Seconds two pieces of one oversized chunk share, so merge hears cut words whole. */
const PIECE_OVERLAP_SECONDS = 3;

/**
 * The uploads one chunk needs, each at most AUDIO_UPLOAD_BYTES (OpenAI's limit is 25 MB), read
 * from `url` by range, never the whole file at once. `start`..`end` are seconds of that file
 * and `seconds` its length. A whole file that fits is sent as it is. WAV is cut by byte
 * range and, when a window would not fit, downmixed to 16 kHz mono while it streams in (a
 * 10-minute window of 44.1 kHz stereo is 106 MB; as 16 kHz mono, 19 MB). Anything else that
 * would not fit is sent as several shorter windows of the same codec.
 */
export async function readPieces(
  url: string,
  start: number,
  end: number,
  seconds: number,
  name: string,
  budget = AUDIO_UPLOAD_BYTES,
): Promise<ChunkAudio[]> {
  const format = await detectUrlFormat(url);
  if (format.size === 0) throw new StepError("unreadable_media", `${name} is empty`);
  const whole = start <= 0.001 && end >= seconds - 0.5;
  if (format.kind === "wav") return [await readWavWindow(url, format, start, end, name, budget)];
  const estimate = format.size * (end - start) / Math.max(seconds, 0.001);
  const parts = Math.ceil(estimate / (budget * 0.9));
  if (whole && parts <= 1 && format.size <= budget) {
    const { bytes } = await readRange(url, 0, format.size - 1);
    // The engine hears the file from its first audio sample: times on the file's timeline start
    // where the audio does (a video whose sound starts 2 s in), as cut windows' do.
    const lead = format.kind === "mp3" ? 0 : await audioLeadOf(new BufferSource(bytes));
    return [{
      audio: bytes,
      mimeType: mimeTypeOf(bytes, name, ""),
      filename: name,
      start: start + lead,
      end,
    }];
  }
  const pieces: ChunkAudio[] = [];
  // A window whose bytes still do not fit (variable bitrate) is halved, a few times at most.
  const fit = async (from: number, to: number, label: string, depth: number) => {
    const piece = await readWindow(url, format, from, to, label);
    if (piece.audio.length <= budget) return void pieces.push(piece);
    if (depth >= 4 || to - from < 2 * PIECE_OVERLAP_SECONDS) {
      throw new StepError(
        "unreadable_media",
        `${to - from} s of this recording are ${piece.audio.length} bytes, more than an ` +
          `engine accepts (${budget}); upload it at a lower bitrate`,
      );
    }
    const middle = (from + to) / 2;
    await fit(from, middle, `${label}a`, depth + 1);
    await fit(middle - PIECE_OVERLAP_SECONDS, to, `${label}b`, depth + 1);
  };
  const count = Math.max(1, parts);
  const step = (end - start) / count;
  for (let i = 0; i < count; i++) {
    const from = Math.max(start, start + i * step - (i ? PIECE_OVERLAP_SECONDS : 0));
    const to = i === count - 1 ? end : start + (i + 1) * step;
    await fit(from, to, count > 1 ? `${name}.${i}` : name, 0);
  }
  return pieces;
}

/**
 * The window `start`..`end` of the file at `url`, reading only what it needs: a byte range of
 * PCM (WAV) or of frames (MP3), else the container's index and the window's packets.
 */
export async function readWindow(
  url: string,
  format: AudioFormat,
  start: number,
  end: number,
  name: string,
): Promise<ChunkAudio> {
  if (format.kind === "wav") return await readWavWindow(url, format, start, end, name, Infinity);
  if (format.kind === "mp3") {
    const { mp3 } = format;
    const [from, to] = mp3WindowRange(mp3, start, end);
    const range = await readRange(url, from, Math.min(to, format.size - 1));
    const window = mp3Window(mp3, range.bytes, from, start);
    return {
      audio: window.bytes,
      mimeType: "audio/mpeg",
      filename: `${name}.mp3`,
      start: window.start,
      end: window.end,
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

async function readWavWindow(
  url: string,
  format: Extract<AudioFormat, { kind: "wav" }>,
  start: number,
  end: number,
  name: string,
  budget: number,
): Promise<ChunkAudio> {
  const { wav, size } = format;
  // Block-aligned byte range of the window.
  const from = wav.dataOffset + Math.floor(start * wav.sampleRate) * wav.blockAlign;
  const to = Math.min(size, wav.dataOffset + Math.floor(end * wav.sampleRate) * wav.blockAlign);
  const filename = `${name.replace(/\.wav$/i, "")}.wav`;
  if (to - from + 44 <= budget) {
    const pcm = await readRange(url, from, to - 1);
    return {
      audio: wavFile(wav, pcm.bytes),
      mimeType: "audio/wav",
      filename,
      start,
      end: start + pcm.bytes.length / wav.byteRate,
    };
  }
  const downmix = new SpeechDownmix(wav, Math.ceil((to - from) / wav.blockAlign));
  await streamRange(url, from, to - 1, (piece) => downmix.push(piece));
  const out = downmix.finish();
  return { audio: out.bytes, mimeType: "audio/wav", filename, start, end: start + out.seconds };
}

export async function transcribeStep(
  ctx: StepContext<"transcribe">,
): Promise<StepOutput<"transcribe">> {
  const { chunk } = ctx.input;
  const { options, media } = ctx.claim.job;
  // Before any download: a missing engine fails the job now (needs_provider on hosted).
  const provider = transcriptionProviderFromEnv();
  ctx.progress(0.05, `Reading chunk ${chunk.index + 1}`);
  const url = await signedMediaUrl(ctx.supabase, chunk.path);
  const filename = chunk.path.split("/").pop() ?? "chunk";
  // A chunk the browser uploaded is a file of its own starting at chunk.start; a window of a
  // single long upload is cut out of it.
  const ownFile = chunk.path !== media.path;
  const offset = ownFile ? chunk.start : 0;
  // Unknown length (not declared): never taken for the whole file.
  const length = ownFile ? chunk.end - chunk.start : media.duration ?? Infinity;
  const pieces = await readPieces(
    url,
    chunk.start - offset,
    chunk.end - offset,
    length,
    ownFile ? filename : `${filename}.${chunk.index}`,
  );
  ctx.progress(0.2, `Transcribing chunk ${chunk.index + 1}`);
  const transcripts = await Promise.all(pieces.map((piece) =>
    provider.transcribe({
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
    })
  ));
  const first = pieces[0].start + offset;
  const last = pieces[pieces.length - 1].end + offset;
  const shifted = transcripts.map((t, i) => shiftTranscript(t, pieces[i].start + offset));
  const transcript = shifted.length === 1 ? shifted[0] : mergeChunks(shifted.map((t, i) => ({
    index: i,
    start: pieces[i].start + offset,
    end: pieces[i].end + offset,
    transcript: t,
  })));
  return { transcript: { ...transcript, duration: last - first } };
}
