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
