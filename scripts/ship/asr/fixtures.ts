/**
 * Test media made on the spot, so no recording ships with the repo: flite speaks a known text
 * (the reference for word error rate) and ffmpeg wraps it into the containers users upload.
 */

/**
 * Voices built into Debian's flite (all 16 kHz except `kal`, 8 kHz). On {@link REFERENCE_PROSE}
 * PocketSphinx scored rms 4.7 %, awb 8.7 %, slt 10.7 %, kal16 11.9 % word error rate, so `rms`
 * is the default.
 */
export type FliteVoice = "slt" | "kal" | "kal16" | "awb" | "rms";

/**
 * About 250 words of plain everyday English prose, written for these tests; flite reads it in
 * 80-90 seconds, enough to exercise several cut points of the recognizer.
 */
export const REFERENCE_PROSE = [
  "Every morning the small town wakes up slowly.",
  "The baker opens his shop before sunrise, and the smell of fresh bread drifts along the quiet street.",
  "A few people walk their dogs near the river, while others wait for the first bus to the city.",
  "At the corner there is a little market where farmers sell apples, potatoes, carrots and eggs.",
  "Children carry their books to school and talk about the games they will play after class.",
  "The teacher writes the date on the board and asks everyone to open their notebooks.",
  "In the afternoon the weather often changes.",
  "Dark clouds come over the hills, and a cold wind moves through the trees.",
  "Most people stay inside and drink a cup of hot tea.",
  "Some of them read the newspaper, and some call their friends on the phone.",
  "When the rain stops, the streets shine under the yellow lights.",
  "The families sit down together for dinner and share stories about their day.",
  "A father tells his son about the old train station that was closed many years ago.",
  "The mother remembers the summer when the river was so low that people could walk across it.",
  "Later the house becomes silent, and the lights go out one by one.",
  "The cat sleeps near the warm kitchen door.",
  "Outside, the moon rises above the roofs, and the town waits for another ordinary day.",
  "Nobody knows what tomorrow will bring, but most people hope for good weather, kind neighbors and a little more time to rest.",
].join(" ");

/** Speaks `text` with flite into a mono 16-bit WAV at `outPath`. */
export async function makeSpeech(
  text: string,
  outPath: string,
  options: { voice?: FliteVoice } = {},
): Promise<void> {
  // A text file instead of -t: long texts stay clear of argv limits and shell-like parsing.
  const textPath = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(textPath, text);
    await run("flite", ["-voice", options.voice ?? "rms", "-f", textPath, "-o", outPath]);
  } finally {
    await Deno.remove(textPath);
  }
}

/** Wraps audio into a small H.264/AAC MP4 over a plain colour background, like a screen video. */
export async function makeVideo(audioPath: string, outPath: string): Promise<void> {
  await ffmpeg([
    ["-f", "lavfi", "-i", "color=c=navy:s=160x120:r=5"],
    ["-i", audioPath, "-shortest"],
    ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", outPath],
  ].flat());
}

/** Re-encodes audio as AAC in an M4A container, the usual shape of a phone recording. */
export async function makeM4a(audioPath: string, outPath: string): Promise<void> {
  await ffmpeg(["-i", audioPath, "-c:a", "aac", "-b:a", "64k", outPath]);
}

/** Writes `seconds` of digital silence as a 16 kHz mono WAV. */
export async function makeSilence(seconds: number, outPath: string): Promise<void> {
  await ffmpeg([
    ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", String(seconds)],
    ["-c:a", "pcm_s16le", outPath],
  ].flat());
}

/**
 * A long, cheap recording for chunking and CPU tests: a quiet tone with a little noise,
 * 16 kHz mono, encoded at a low bitrate as AAC in M4A (moov at the end, as phones write it)
 * or as MP3. Three hours take well under a minute to make.
 */
export async function makeLongAudio(
  seconds: number,
  codec: "aac" | "mp3",
  outPath: string,
): Promise<void> {
  await ffmpeg([
    ["-f", "lavfi", "-i", `sine=frequency=220:sample_rate=16000:duration=${seconds}`],
    ["-ac", "1"],
    codec === "aac" ? ["-c:a", "aac", "-b:a", "16k"] : ["-c:a", "libmp3lame", "-b:a", "16k"],
    [outPath],
  ].flat());
}

/** Length of a media file in seconds, as ffprobe reads it from the container. */
export async function probeDuration(path: string): Promise<number> {
  const out = await run(
    "ffprobe",
    [
      ["-v", "error", "-show_entries", "format=duration"],
      ["-of", "default=noprint_wrappers=1:nokey=1", path],
    ].flat(),
  );
  return Number(out.trim());
}

function ffmpeg(args: string[]): Promise<string> {
  return run("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args]);
}

async function run(command: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command, { args, stdin: "null" })
    .output();
  const decoder = new TextDecoder();
  if (!success) throw new Error(`${command} failed: ${decoder.decode(stderr).trim()}`);
  return decoder.decode(stdout);
}
