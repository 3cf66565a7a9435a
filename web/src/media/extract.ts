/**
 * The audio of a recording, cut into chunks for the server (chunk_plan.ts), without the video.
 *
 * 1. mediabunny reads the container (MP4/MOV/WebM/MKV/MP3/Ogg/WAV/FLAC/ADTS/MPEG-TS). AAC, MP3,
 *    Opus and Vorbis packets are copied into M4A/MP3/Ogg chunks as they are (no re-encoding).
 * 2. Other codecs mediabunny can decode (PCM, FLAC, …) are encoded to Opus with WebCodecs.
 * 3. Files mediabunny cannot read go to `options.fallback` (in the browser ffmpeg.wasm,
 *    ffmpeg_extract.ts, loaded only then).
 *
 * mediabunny is imported on demand, so the first page stays small.
 */
import {
  CHUNK_SECONDS,
  chunkCount,
  chunkSecondsFor,
  chunksOfPacket,
  manifestChunk,
  OVERLAP_SECONDS,
} from "./chunk_plan.ts";
import type { PauseGate } from "./pause_gate.ts";

/** One chunk of audio ready for upload; `name` is its file name inside the job's folder. */
export interface AudioChunk {
  index: number;
  name: string;
  blob: Blob;
  start: number;
  end: number;
  overlap_before: number;
}

export interface ExtractedAudio {
  /** Seconds of audio: where the last chunk ends (recording_windows.ts: the audio's timeline). */
  duration: number;
  /** Where the audio starts on the video's timeline (manifest `source.audio_start`). */
  audioStart: number;
  /** Codec of the uploaded chunks and their container (manifest `audio`). */
  codec: string;
  container: string;
  /** How the chunks were made: copied packets, WebCodecs encoding, or ffmpeg.wasm. */
  method: "remux" | "transcode" | "ffmpeg";
  chunks: AudioChunk[];
}

export interface ExtractOptions {
  onProgress?: (fraction: number) => void;
  gate?: PauseGate;
  signal?: AbortSignal;
  /**
   * For files mediabunny cannot read: ffmpeg.wasm in the browser (../upload.ts passes
   * ffmpeg_extract.ts); without it such files are refused.
   */
  fallback?: (file: File, options: ExtractOptions) => Promise<ExtractedAudio>;
}

/**
 * The file has no audio that can be sent for transcription: no audio track (`no_audio`), an
 * empty one (`empty_audio`), or one in a codec that cannot be read here (`unsupported_codec`, the server's codes).
 */
export class NoAudioError extends Error {
  constructor(
    message: string,
    readonly code: "no_audio" | "empty_audio" | "unsupported_codec" | "unreadable_media" =
      "no_audio",
  ) {
    super(message);
    this.name = "NoAudioError";
  }
}

/** The audio track to transcribe: the one marked default when there are several. */
async function audioTrackOf(input: import("mediabunny").Input): Promise<AudioTrack | null> {
  // A container with no tracks at all is damaged (an MP4 cut before its index), not silent.
  if (!(await input.getTracks()).length) {
    throw new NoAudioError(
      "This file could not be read; it may be damaged. Check that it plays, or convert it to MP4, MP3 or WAV.",
      "unreadable_media",
    );
  }
  const tracks = await input.getAudioTracks();
  return tracks.find((t) => t.disposition.default && tracks.length > 1) ??
    await input.getPrimaryAudioTrack();
}

/**
 * Where `track`'s audio lies: its first timestamp, its length in seconds (recording_windows.ts:
 * the audio track's own, not the container's) and where it starts on the video's timeline.
 */
async function audioTimeline(
  input: import("mediabunny").Input,
  track: AudioTrack,
): Promise<{ first: number; seconds: number; audioStart: number }> {
  const first = await track.getFirstTimestamp();
  const zero = Math.min(first, await input.getFirstTimestamp());
  const end = (await track.getDurationFromMetadata()) ?? (await track.computeDuration());
  return { first, seconds: end - first, audioStart: Math.max(0, first - Math.max(0, zero)) };
}

/**
 * What a file's audio track is, without extracting it: refused with NoAudioError when there is
 * none, it is empty or it cannot be read. Files mediabunny cannot read at all throw its error.
 */
export async function probeAudioTrack(
  file: File,
): Promise<
  { codec: string; audioSeconds: number; audioStart: number; track: number; tracks: number }
> {
  const mb = await import("mediabunny");
  const input = new mb.Input({ source: new mb.BlobSource(file), formats: mb.ALL_FORMATS });
  try {
    const chosen = await audioTrackOf(input);
    if (!chosen) throw new NoAudioError("This file has no sound track to transcribe.");
    const codec = await chosen.getCodec();
    if (!codec) {
      throw new NoAudioError(
        "The sound track of this file is in a format we cannot read; convert it to AAC, MP3 or WAV.",
        "unsupported_codec",
      );
    }
    const { seconds, audioStart } = await audioTimeline(input, chosen);
    if (!(seconds > 0)) {
      throw new NoAudioError("The sound track of this file is empty.", "empty_audio");
    }
    // Which of the file's audio tracks is used (1-based), for the page to say so.
    const all = await input.getAudioTracks();
    const track = all.findIndex((t) => t.id === chosen.id) + 1;
    return { codec, audioSeconds: seconds, audioStart, track, tracks: all.length };
  } finally {
    input.dispose();
  }
}

type Mediabunny = typeof import("mediabunny");
type AudioTrack = import("mediabunny").InputAudioTrack;

interface RemuxTarget {
  extension: string;
  mimeType: string;
  container: string;
  format: (mb: Mediabunny) => import("mediabunny").OutputFormat;
}

/** Codecs copied as they are, and the container each goes into (all accepted by providers). */
const REMUX_TARGETS: Record<string, RemuxTarget> = {
  aac: {
    extension: "m4a",
    mimeType: "audio/mp4",
    container: "mp4",
    format: (mb) => new mb.Mp4OutputFormat({ fastStart: "in-memory" }),
  },
  mp3: {
    extension: "mp3",
    mimeType: "audio/mpeg",
    container: "mp3",
    format: (mb) => new mb.Mp3OutputFormat(),
  },
  opus: {
    extension: "ogg",
    mimeType: "audio/ogg",
    container: "ogg",
    format: (mb) => new mb.OggOutputFormat(),
  },
  vorbis: {
    extension: "ogg",
    mimeType: "audio/ogg",
    container: "ogg",
    format: (mb) => new mb.OggOutputFormat(),
  },
};

/** Extracts and chunks the audio of `file`. Throws NoAudioError when there is none. */
export async function extractAudio(
  file: File,
  options: ExtractOptions = {},
): Promise<ExtractedAudio> {
  const mb = await import("mediabunny");
  const input = new mb.Input({
    source: new mb.BlobSource(file, { maxCacheSize: 32 * 1024 * 1024 }),
    formats: mb.ALL_FORMATS,
  });
  try {
    let track: AudioTrack | null;
    try {
      if (!(await input.canRead())) return await viaFfmpeg(file, options);
      track = await audioTrackOf(input);
    } catch (error) {
      if (error instanceof mb.UnsupportedInputFormatError) return await viaFfmpeg(file, options);
      throw error;
    }
    if (!track) throw new NoAudioError("This file has no sound track to transcribe.");
    const codec = await track.getCodec();
    const timeline = await audioTimeline(input, track);
    if (!(timeline.seconds > 0)) {
      throw new NoAudioError("The sound track of this file is empty.", "empty_audio");
    }
    const target = codec ? REMUX_TARGETS[codec] : undefined;
    if (target && codec) return await remux(mb, track, codec, target, timeline, options);
    if (await track.canDecode() && await mb.canEncodeAudio("opus")) {
      return await transcode(mb, input, track, timeline, options);
    }
    return await viaFfmpeg(file, options);
  } finally {
    input.dispose();
  }
}

async function viaFfmpeg(file: File, options: ExtractOptions): Promise<ExtractedAudio> {
  if (!options.fallback) throw new Error("this format needs ffmpeg");
  return await options.fallback(file, options);
}

/** One output chunk being written: its packets rebased to start at 0. */
interface OpenChunk {
  index: number;
  output: import("mediabunny").Output<
    import("mediabunny").OutputFormat,
    import("mediabunny").BufferTarget
  >;
  source: import("mediabunny").EncodedAudioPacketSource;
  first: number;
  last: number;
  started: boolean;
}

async function remux(
  mb: Mediabunny,
  track: AudioTrack,
  codec: string,
  target: RemuxTarget,
  timeline: { first: number; seconds: number; audioStart: number },
  { onProgress, gate, signal }: ExtractOptions,
): Promise<ExtractedAudio> {
  const duration = timeline.seconds;
  const decoderConfig = await track.getDecoderConfig();
  if (!decoderConfig) {
    throw new NoAudioError("This file's sound track cannot be read.", "unsupported_codec");
  }
  // Copied packets keep their bitrate: high-bitrate audio gets shorter chunks (CHUNK_BYTES).
  const stats = await track.computePacketStats(2000).catch(() => null);
  const seconds = chunkSecondsFor(stats ? stats.averageBitrate / 8 : 0);
  const count = chunkCount(duration, seconds);
  const open = new Map<number, OpenChunk>();
  const done: AudioChunk[] = [];
  const name = (index: number) => `chunk-${String(index).padStart(3, "0")}.${target.extension}`;

  const openChunk = async (index: number, first: number): Promise<OpenChunk> => {
    const output = new mb.Output({ format: target.format(mb), target: new mb.BufferTarget() });
    const source = new mb.EncodedAudioPacketSource(codec as import("mediabunny").AudioCodec);
    output.addAudioTrack(source);
    await output.start();
    const chunk = { index, output, source, first, last: first, started: false };
    open.set(index, chunk);
    return chunk;
  };
  const closeChunk = async (chunk: OpenChunk) => {
    open.delete(chunk.index);
    await chunk.output.finalize();
    const plan = manifestChunk(chunk.index, name(chunk.index), chunk.first, chunk.last, seconds);
    done.push({
      ...plan,
      name: plan.path,
      blob: new Blob([chunk.output.target.buffer!], { type: target.mimeType }),
    });
  };

  const sink = new mb.EncodedPacketSink(track);
  let lastReport = 0;
  try {
    for await (const packet of sink.packets()) {
      // On the audio's own timeline: audio that starts after the picture still starts at 0.
      const at = packet.timestamp - timeline.first;
      const belongs = chunksOfPacket(at, count, seconds);
      // Chunks this packet no longer reaches are complete.
      for (const chunk of [...open.values()]) {
        if (chunk.index < belongs[0]) await closeChunk(chunk);
      }
      for (const index of belongs) {
        const chunk = open.get(index) ?? await openChunk(index, at);
        await chunk.source.add(
          packet.clone({ timestamp: Math.max(0, at - chunk.first) }),
          chunk.started ? undefined : { decoderConfig },
        );
        chunk.started = true;
        chunk.last = at + packet.duration;
      }
      if (at - lastReport >= 10) {
        lastReport = at;
        onProgress?.(Math.min(1, at / duration));
        await gate?.passage(signal);
        signal?.throwIfAborted();
      }
    }
    for (const chunk of [...open.values()].sort((a, b) => a.index - b.index)) {
      await closeChunk(chunk);
    }
  } catch (error) {
    await Promise.all([...open.values()].map((c) => c.output.cancel().catch(() => {})));
    throw error;
  }
  if (!done.length) throw new NoAudioError("This file's sound track is empty.", "empty_audio");
  done.sort((a, b) => a.index - b.index);
  onProgress?.(1);
  return {
    // What the packets hold, whatever the metadata announced.
    duration: done[done.length - 1].end,
    audioStart: timeline.audioStart,
    codec,
    container: target.container,
    method: "remux",
    chunks: done,
  };
}

/** Decodes what cannot be copied and encodes each window to Opus in Ogg with WebCodecs. */
async function transcode(
  mb: Mediabunny,
  input: import("mediabunny").Input,
  track: AudioTrack,
  timeline: { first: number; seconds: number; audioStart: number },
  { onProgress, gate, signal }: ExtractOptions,
): Promise<ExtractedAudio> {
  const duration = timeline.seconds;
  const count = chunkCount(duration);
  const chunks: AudioChunk[] = [];
  for (let index = 0; index < count; index++) {
    await gate?.passage(signal);
    const from = index === 0 ? 0 : index * CHUNK_SECONDS - OVERLAP_SECONDS;
    const to = Math.min(duration, (index + 1) * CHUNK_SECONDS);
    const output = new mb.Output({
      format: new mb.OggOutputFormat(),
      target: new mb.BufferTarget(),
    });
    const conversion = await mb.Conversion.init({
      input,
      output,
      // Trim times are the input's; the windows are on the audio's timeline.
      trim: { start: timeline.first + from, end: timeline.first + to },
      video: { discard: true },
      // Speech recognisers work on mono; 48 kHz is what Opus encodes natively. Only the track
      // chosen above (the default one) is kept.
      audio: (t) =>
        t.id === track.id
          ? { codec: "opus", numberOfChannels: 1, sampleRate: 48_000, quality: mb.QUALITY_MEDIUM }
          : { discard: true },
    });
    if (!conversion.isValid) {
      throw new NoAudioError(
        "This file's sound track cannot be converted in this browser.",
        "unsupported_codec",
      );
    }
    conversion.onProgress = (p) => onProgress?.((index + p) / count);
    const onAbort = () => void conversion.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await conversion.execute();
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    signal?.throwIfAborted();
    const plan = manifestChunk(index, `chunk-${String(index).padStart(3, "0")}.ogg`, from, to);
    chunks.push({
      ...plan,
      name: plan.path,
      blob: new Blob([output.target.buffer!], { type: "audio/ogg" }),
    });
  }
  onProgress?.(1);
  return {
    duration,
    audioStart: timeline.audioStart,
    codec: "opus",
    container: "ogg",
    method: "transcode",
    chunks,
  };
}
