/**
 * Valid but unusual recordings, made with ffmpeg on the spot (nothing is committed): what phones,
 * cameras, screen recorders and editors produce. Each wraps a given speech WAV (or a tone) in a
 * container with a quirk: audio shorter than the picture, audio starting late, no audio at all…
 */
import { join } from "node:path";

export interface Recording {
  path: string;
  /** Seconds of audio in the file (its audio track's length). */
  audioSeconds: number;
  /** Where the audio starts on the video's timeline. */
  audioStart: number;
}

export async function ffmpeg(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-v", "error", "-y", ...args],
    stdin: "null",
  }).output();
  if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr).trim()}`);
}

/** A tone of `seconds` as 16 kHz mono WAV: audio for tests that do not need words. */
export async function toneWav(dir: string, seconds: number): Promise<string> {
  const path = join(dir, `tone-${seconds}.wav`);
  await ffmpeg(["-f", "lavfi", "-i", `sine=f=440:r=16000:d=${seconds}`, "-ac", "1", path]);
  return path;
}

const PICTURE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];

/**
 * An MP4 whose picture lasts `videoSeconds` and whose AAC audio (from `wav`) lasts
 * `audioSeconds` (shorter or longer than the picture).
 */
export async function mp4WithAudioLength(
  out: string,
  wav: string,
  videoSeconds: number,
  audioSeconds: number,
): Promise<Recording> {
  await ffmpeg([
    ...["-f", "lavfi", "-i", `color=c=navy:s=160x120:r=5:d=${videoSeconds}`],
    ...["-i", wav, "-filter_complex", `[1:a]apad,atrim=0:${audioSeconds}[a]`],
    ...["-map", "0:v", "-map", "[a]", ...PICTURE, "-c:a", "aac", "-b:a", "64k", out],
  ]);
  return { path: out, audioSeconds, audioStart: 0 };
}

/** An MP4 whose AAC audio (from `wav`) starts `delay` seconds after the picture. */
export async function mp4WithLateAudio(
  out: string,
  wav: string,
  delay: number,
): Promise<Recording> {
  const aac = `${out}.m4a`;
  await ffmpeg(["-i", wav, "-c:a", "aac", "-b:a", "64k", aac]);
  const seconds = await probeSeconds(aac);
  await ffmpeg([
    ...["-f", "lavfi", "-i", `color=c=navy:s=160x120:r=5:d=${seconds + delay}`],
    ...["-itsoffset", String(delay), "-i", aac],
    ...["-map", "0:v", "-map", "1:a", ...PICTURE, "-c:a", "copy", out],
  ]);
  await Deno.remove(aac);
  return { path: out, audioSeconds: seconds, audioStart: delay };
}

/** An MP4 with a picture and no audio track. */
export async function mp4WithoutAudio(out: string, seconds: number): Promise<void> {
  await ffmpeg([
    ...["-f", "lavfi", "-i", `color=c=navy:s=160x120:r=5:d=${seconds}`, ...PICTURE, out],
  ]);
}

/** Seconds of the first audio stream of `path` (ffprobe). */
export async function probeSeconds(path: string): Promise<number> {
  const { stdout } = await new Deno.Command("ffprobe", {
    args: ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration"]
      .concat(["-of", "csv=p=0", path]),
  }).output();
  return Number(new TextDecoder().decode(stdout).trim());
}

/** A WAV whose audio track holds no samples (a header only). */
export async function zeroLengthWav(out: string): Promise<void> {
  await ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", out]);
}

/**
 * A Matroska audio file whose codec no reader knows: an AAC track relabelled `A_ZZZ` (the codec
 * ID is plain text in the file), as a codec neither extractor has would look.
 */
export async function unknownCodecMka(out: string, wav: string): Promise<void> {
  const aac = `${out}.aac.mka`;
  await ffmpeg(["-i", wav, "-c:a", "aac", aac]);
  const bytes = await Deno.readFile(aac);
  await Deno.remove(aac);
  const id = new TextEncoder().encode("A_AAC");
  const at = bytes.findIndex((_, i) => id.every((b, j) => bytes[i + j] === b));
  if (at < 0) throw new Error("no A_AAC codec ID in the file");
  bytes.set(new TextEncoder().encode("A_ZZZ"), at);
  await Deno.writeFile(out, bytes);
}

/** The first half of an MP4 made from `wav`: its index (moov, at the end) is missing. */
export async function truncatedMp4(out: string, wav: string): Promise<void> {
  const whole = `${out}.whole.mp4`;
  await ffmpeg(["-i", wav, "-c:a", "aac", whole]);
  const bytes = await Deno.readFile(whole);
  await Deno.remove(whole);
  await Deno.writeFile(out, bytes.subarray(0, Math.floor(bytes.length / 2)));
}
