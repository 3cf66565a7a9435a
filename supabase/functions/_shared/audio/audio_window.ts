/**
 * Probing and cutting a single uploaded recording on the server, where there is no ffmpeg and
 * 2 s of CPU per request: mediabunny demuxes the audio track (MP4/M4A, MP3, ADTS, WebM,
 * Ogg, FLAC...), and a window is cut by copying the encoded packets of that time range into a
 * new file of the same codec — no decoding, no re-encoding. Reads go through a `Source`, which
 * for Storage is a signed URL read with HTTP Range requests, so a step fetches only the
 * container's index and its window, never the whole recording.
 */
import {
  ALL_FORMATS,
  BufferSource,
  BufferTarget,
  EncodedAudioPacketSource,
  EncodedPacketSink,
  Input,
  type InputAudioTrack,
  Mp3OutputFormat,
  Mp4OutputFormat,
  OggOutputFormat,
  Output,
  type OutputFormat,
  type Source,
  UrlSource,
  WebMOutputFormat,
} from "mediabunny";
import { StepError } from "../engine/failure.ts";

export { BufferSource };

/** What prepare needs to plan chunks. */
export interface MediaProbe {
  /** Seconds. */
  duration: number;
  /** mediabunny's codec name: "aac", "mp3", "opus", "vorbis", "flac", ... */
  codec: string;
  /** Container name as mediabunny reports it ("MP4", "MP3", ...). */
  container: string;
}

/** A cut window, ready to send to a transcription engine. */
export interface AudioWindow {
  bytes: Uint8Array;
  mimeType: string;
  extension: string;
  /** Where the window really starts in the recording (the packet boundary at or before `start`). */
  start: number;
  end: number;
}

/** Which container each codec is copied into: one providers accept, holding it without change. */
const OUTPUT_FOR_CODEC: Record<
  string,
  { format: () => OutputFormat; mimeType: string; extension: string }
> = {
  aac: { format: () => new Mp4OutputFormat(), mimeType: "audio/mp4", extension: "m4a" },
  mp3: { format: () => new Mp3OutputFormat(), mimeType: "audio/mpeg", extension: "mp3" },
  opus: { format: () => new OggOutputFormat(), mimeType: "audio/ogg", extension: "ogg" },
  vorbis: { format: () => new OggOutputFormat(), mimeType: "audio/ogg", extension: "ogg" },
  flac: { format: () => new WebMOutputFormat(), mimeType: "audio/webm", extension: "webm" },
};

/**
 * A Storage object read by range through its signed URL. Failed reads are retried twice, then
 * surface (mediabunny's default would retry forever).
 */
export function urlSource(url: string): Source {
  return new UrlSource(url, {
    getRetryDelay: (attempts) => (attempts < 3 ? 0.5 * attempts : null),
    // The window plus the container index; more is never needed at once.
    maxCacheSize: 32 * 1024 * 1024,
  });
}

async function openAudio(source: Source): Promise<{ input: Input; track: InputAudioTrack }> {
  const input = new Input({ source, formats: ALL_FORMATS });
  try {
    // The default audio track when there are several (as the clients choose).
    const tracks = await input.getTracks();
    if (!tracks.length) throw new StepError("unreadable_media", "no tracks: a damaged container");
    const audio = tracks.filter((t): t is InputAudioTrack => t.isAudioTrack());
    const track = audio.find((t) => t.disposition.default && audio.length > 1) ??
      await input.getPrimaryAudioTrack();
    if (!track) throw new StepError("no_audio", "the recording has no audio track");
    return { input, track };
  } catch (e) {
    input.dispose();
    if (e instanceof StepError) throw e;
    throw unreadable(e);
  }
}

function unreadable(e: unknown): StepError {
  const message = e instanceof Error ? e.message : String(e);
  // A read that failed on the network is worth another attempt; a file we cannot parse is not.
  if (/fetch|network|connect|status 5\d\d|timed? ?out/i.test(message)) {
    return new StepError("network_error", `reading the recording: ${message}`, true);
  }
  return new StepError("unreadable_media", `the recording could not be read: ${message}`);
}

/** Duration, codec and container of a recording (reads only what the container needs). */
export async function probeAudio(source: Source): Promise<MediaProbe> {
  const { input, track } = await openAudio(source);
  try {
    const duration = await input.computeDuration();
    const codec = track.codec;
    if (!codec) throw new StepError("unsupported_codec", "the audio codec is not recognised");
    if (!(duration > 0)) throw new StepError("empty_audio", "the audio track is empty");
    return { duration, codec, container: (await input.getFormat()).name };
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw unreadable(e);
  } finally {
    input.dispose();
  }
}

/**
 * Where the audio track starts after the file's other tracks (audio recorded after the picture
 * started: 2), seconds, 0 when it starts with them. Engines given the whole file decode from its
 * first audio sample, so their times are this much earlier than the file's.
 */
export async function audioLeadOf(source: Source): Promise<number> {
  const { input, track } = await openAudio(source);
  try {
    const first = await track.getFirstTimestamp();
    const zero = Math.min(first, await input.getFirstTimestamp());
    return Math.max(0, first - Math.max(0, zero));
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw unreadable(e);
  } finally {
    input.dispose();
  }
}

/** The audio between `start` and `end` seconds, as a file of its own with the same codec. */
export async function cutAudioWindow(
  source: Source,
  start: number,
  end: number,
): Promise<AudioWindow> {
  const { input, track } = await openAudio(source);
  try {
    const codec = track.codec;
    const target = codec ? OUTPUT_FOR_CODEC[codec] : undefined;
    if (!codec || !target) {
      throw new StepError(
        "unreadable_media",
        `cutting ${codec ?? "unknown"} audio is not supported; upload AAC, MP3, Opus or WAV`,
      );
    }
    const sink = new EncodedPacketSink(track);
    const first = await sink.getPacket(start) ?? await sink.getFirstPacket();
    if (!first) throw new StepError("no_speech", "the recording has no audio packets");
    // getPacket(end) is the packet covering `end`, which is left out: the window ends there.
    const last = await sink.getPacket(end);
    const stop = last && last.timestamp > first.timestamp ? last : undefined;
    const output = new Output({ format: target.format(), target: new BufferTarget() });
    const packets = new EncodedAudioPacketSource(codec);
    output.addAudioTrack(packets);
    await output.start();
    const decoderConfig = await track.getDecoderConfig();
    let meta: { decoderConfig: AudioDecoderConfig } | undefined = decoderConfig
      ? { decoderConfig }
      : undefined;
    let until = first.timestamp;
    for await (const packet of sink.packets(first, stop)) {
      await packets.add(packet.clone({ timestamp: packet.timestamp - first.timestamp }), meta);
      meta = undefined;
      until = packet.timestamp + packet.duration;
    }
    await output.finalize();
    const buffer = (output.target as BufferTarget).buffer;
    if (!buffer) throw new StepError("unreadable_media", "cutting produced nothing");
    return {
      bytes: new Uint8Array(buffer),
      mimeType: target.mimeType,
      extension: target.extension,
      start: first.timestamp,
      end: until,
    };
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw unreadable(e);
  } finally {
    input.dispose();
  }
}
