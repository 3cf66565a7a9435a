/**
 * Long videos for the browser media pipeline, made with ffmpeg on the spot. Their pictures are
 * noise at a tiny size, so the video stream has a realistic bitrate (noise does not compress)
 * without costing much to encode; their sound is digital silence with flite speech mixed in at
 * chosen times, so the offline recogniser only works where there are words.
 */
import { makeSpeech } from "../../ship/asr/fixtures.ts";
import { join } from "node:path";

export interface SpokenVideo {
  path: string;
  /** Seconds. */
  duration: number;
  bytes: number;
}

export interface SpokenVideoOptions {
  /** Length in seconds. */
  duration: number;
  /** [seconds from the start, text spoken there]. */
  speech: [number, string][];
  /** Video bitrate, e.g. "600k". */
  videoBitrate: string;
  /** AAC bitrate, e.g. "48k". */
  audioBitrate: string;
  /** Audio channels (1 or 2). */
  channels?: number;
}

/** An H.264/AAC MP4 at `out` with the given speech at the given times over silence. */
export async function makeSpokenVideo(out: string, o: SpokenVideoOptions): Promise<SpokenVideo> {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-video-" });
  try {
    const inputs: string[] = [];
    const mix: string[] = [];
    for (const [i, [at, text]] of o.speech.entries()) {
      const wav = join(dir, `speech-${i}.wav`);
      await makeSpeech(text, wav);
      inputs.push("-i", wav);
      const ms = Math.round(at * 1000);
      mix.push(`[${i + 2}:a]aresample=44100,adelay=${ms}|${ms}[s${i}]`);
    }
    const channels = o.channels ?? 1;
    const layout = channels === 1 ? "mono" : "stereo";
    const sources = ["[1:a]", ...o.speech.map((_, i) => `[s${i}]`)].join("");
    const filter = [
      ...mix,
      `${sources}amix=inputs=${o.speech.length + 1}:duration=first:normalize=0,` +
      `aformat=channel_layouts=${layout}[a]`,
    ].join(";");
    await ffmpeg([
      ["-f", "lavfi", "-i", `nullsrc=s=96x64:r=8,geq=random(1)*255:128:128`],
      ["-f", "lavfi", "-i", `anullsrc=r=44100:cl=${layout}`],
      ...inputs,
      ["-filter_complex", filter, "-map", "0:v", "-map", "[a]", "-t", String(o.duration)],
      ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", o.videoBitrate],
      ["-maxrate", o.videoBitrate, "-bufsize", o.videoBitrate],
      ["-c:a", "aac", "-b:a", o.audioBitrate, "-ac", String(channels)],
      ["-movflags", "+faststart", out],
    ].flat());
    return { path: out, duration: o.duration, bytes: (await Deno.stat(out)).size };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Re-wraps the streams of `input` (no re-encoding) into `out`, e.g. an AVI or FLV. */
export async function rewrap(input: string, out: string, args: string[] = []): Promise<void> {
  await ffmpeg(["-i", input, "-c", "copy", ...args, out]);
}

async function ffmpeg(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-v", "error", "-y", ...args],
    stdin: "null",
  }).output();
  if (!success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(stderr).trim()}`);
}
