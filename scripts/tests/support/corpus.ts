/**
 * The corpus of issue 24: valid but unusual recordings, as phones, cameras, screen recorders and
 * editors make them, generated with ffmpeg from real speech (Debian's LibriVox clips of
 * pocketsphinx-testdata: one reader, Sense and Sensibility, with the authors' transcriptions).
 * Nothing is committed: each file is made in a temporary folder when a test asks for it.
 */
import { join } from "node:path";
import { ffmpeg } from "./recordings.ts";

/** Where Debian's pocketsphinx-testdata puts its LibriVox clips (scripts/packages.txt). */
export const LIBRIVOX_DIR = "/usr/share/pocketsphinx/test/data/librivox";

export interface Speech {
  /** 16 kHz mono WAV of the speech. */
  wav: string;
  /** What is said (the authors' transcription, lowercase, no punctuation). */
  text: string;
  seconds: number;
}

/** The LibriVox clips (3-7 s each), each with its transcription. */
export async function librivoxClips(): Promise<Speech[]> {
  const ids = (await Deno.readTextFile(join(LIBRIVOX_DIR, "fileids")).catch(() => {
    throw new Error(`${LIBRIVOX_DIR} is missing: install Debian's pocketsphinx-testdata`);
  })).split("\n").map((l) => l.trim()).filter(Boolean);
  const lines = await Deno.readTextFile(join(LIBRIVOX_DIR, "transcription"));
  return await Promise.all(ids.map(async (id) => {
    const line = lines.split("\n").find((l) => l.includes(`(${id})`));
    if (!line) throw new Error(`no transcription for ${id}`);
    const wav = join(LIBRIVOX_DIR, `${id}.wav`);
    const samples = ((await Deno.stat(wav)).size - 44) / 2;
    return {
      wav,
      text: line.replace(/<\/?s>/g, "").replace(/\(.*\)/, "").trim(),
      seconds: samples / 16_000,
    };
  }));
}

/** The LibriVox clips joined into one WAV with their transcription (about 25 s). */
export async function librivoxSpeech(dir: string): Promise<Speech> {
  const clips = await librivoxClips();
  const wav = join(dir, "librivox.wav");
  const list = join(dir, "librivox.txt");
  await Deno.writeTextFile(list, clips.map((c) => `file '${c.wav}'`).join("\n"));
  await ffmpeg(["-f", "concat", "-safe", "0", "-i", list, "-c:a", "pcm_s16le", wav]);
  const samples = ((await Deno.stat(wav)).size - 44) / 2;
  return { wav, text: clips.map((c) => c.text).join(" "), seconds: samples / 16_000 };
}

export interface CorpusCase {
  name: string;
  /** Makes the file; returns its path. */
  make: (dir: string, speech: Speech) => Promise<string>;
  /** Where the speech starts on the video's timeline (seconds). */
  speechAt: number;
  /** Refused before upload with this code instead of transcribed. */
  refused?: string;
}

const PICTURE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
const picture = (seconds: number, rate = 5) => [
  "-f",
  "lavfi",
  "-i",
  `color=c=navy:s=160x120:r=${rate}:d=${seconds}`,
];

/** Each case of the corpus (issue 24, "What to build" 1). */
export const CORPUS: CorpusCase[] = [
  {
    name: "audio-shorter.mp4",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "audio-shorter.mp4");
      await ffmpeg([...picture(s.seconds + 0.7), "-i", s.wav, ...PICTURE, "-c:a", "aac", out]);
      return out;
    },
  },
  {
    name: "audio-longer.mp4",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "audio-longer.mp4");
      await ffmpeg([...picture(s.seconds / 2), "-i", s.wav, ...PICTURE, "-c:a", "aac", out]);
      return out;
    },
  },
  {
    name: "audio-late.mp4",
    speechAt: 2,
    make: async (dir, s) => {
      const out = join(dir, "audio-late.mp4");
      await ffmpeg([
        ...picture(s.seconds + 2),
        ...["-itsoffset", "2", "-i", s.wav, ...PICTURE, "-c:a", "aac", out],
      ]);
      return out;
    },
  },
  {
    name: "phone-vfr.mp4",
    speechAt: 0,
    make: async (dir, s) => {
      // 5 frames a second for 2 s, then 25: the variable frame rate of a phone in changing light.
      const out = join(dir, "phone-vfr.mp4");
      await ffmpeg([
        ...picture(s.seconds, 25),
        ...["-i", s.wav, "-vf", "select='if(lt(t,2),not(mod(n,5)),1)'", "-fps_mode", "vfr"],
        ...[...PICTURE, "-c:a", "aac", out],
      ]);
      return out;
    },
  },
  {
    name: "screen.webm",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "screen.webm");
      await ffmpeg([
        ...picture(s.seconds, 1),
        ...["-i", s.wav, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
        ...["-c:a", "libopus", "-b:a", "32k", out],
      ]);
      return out;
    },
  },
  {
    name: "camera.mkv",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "camera.mkv");
      await ffmpeg([...picture(s.seconds), "-i", s.wav, ...PICTURE, "-c:a", "aac", out]);
      return out;
    },
  },
  {
    name: "editor-pcm.mov",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "editor-pcm.mov");
      await ffmpeg([...picture(s.seconds), "-i", s.wav, ...PICTURE, "-c:a", "pcm_s16le", out]);
      return out;
    },
  },
  {
    name: "podcast-id3-cover.mp3",
    speechAt: 0,
    make: async (dir, s) => {
      const cover = join(dir, "cover.png");
      await ffmpeg(["-f", "lavfi", "-i", "color=c=orange:s=300x300:d=1", "-frames:v", "1", cover]);
      const out = join(dir, "podcast-id3-cover.mp3");
      await ffmpeg([
        ...["-i", s.wav, "-i", cover, "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame"],
        ...["-b:a", "64k", "-c:v", "png", "-disposition:v", "attached_pic", "-id3v2_version", "3"],
        ...["-metadata", "title=Chapter One", "-metadata", "artist=LibriVox", out],
      ]);
      return out;
    },
  },
  {
    name: "voice-memo.m4a",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "voice-memo.m4a");
      await ffmpeg(["-i", s.wav, "-c:a", "aac", "-b:a", "48k", out]);
      return out;
    },
  },
  {
    name: "archive.flac",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "archive.flac");
      await ffmpeg(["-i", s.wav, "-c:a", "flac", out]);
      return out;
    },
  },
  {
    name: "radio.ogg",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "radio.ogg");
      await ffmpeg(["-i", s.wav, "-c:a", "libvorbis", "-q:a", "3", out]);
      return out;
    },
  },
  {
    name: "phone-call-ulaw.wav",
    speechAt: 0,
    make: async (dir, s) => {
      const out = join(dir, "phone-call-ulaw.wav");
      await ffmpeg(["-i", s.wav, "-ar", "8000", "-c:a", "pcm_mulaw", out]);
      return out;
    },
  },
  {
    name: "film-5.1.mp4",
    speechAt: 0,
    make: async (dir, s) => {
      // The dialogue in the centre channel, the others quiet, as films are mixed.
      const out = join(dir, "film-5.1.mp4");
      await ffmpeg([
        ...picture(s.seconds),
        ...["-i", s.wav, "-filter_complex"],
        "[1:a]pan=5.1(side)|FC=c0|FL=0.1*c0|FR=0.1*c0|LFE=0*c0|SL=0*c0|SR=0*c0[a]",
        ...["-map", "0:v", "-map", "[a]", ...PICTURE, "-c:a", "aac", "-b:a", "192k", out],
      ]);
      return out;
    },
  },
  {
    name: "two-tracks.mkv",
    speechAt: 0,
    make: async (dir, s) => {
      // Track 1: a tone (commentary off); track 2, marked default: the speech.
      const out = join(dir, "two-tracks.mkv");
      await ffmpeg([
        ...picture(s.seconds),
        ...["-f", "lavfi", "-i", `sine=f=300:r=16000:d=${s.seconds}`, "-i", s.wav],
        ...["-map", "0:v", "-map", "1:a", "-map", "2:a", ...PICTURE, "-c:a", "aac"],
        ...["-disposition:a:0", "0", "-disposition:a:1", "default", out],
      ]);
      return out;
    },
  },
  {
    name: "silent-film.mp4",
    speechAt: 0,
    refused: "no_audio",
    make: async (dir, s) => {
      const out = join(dir, "silent-film.mp4");
      await ffmpeg([...picture(Math.min(5, s.seconds)), ...PICTURE, out]);
      return out;
    },
  },
];

/**
 * The long case: longer than one chunk (the speech after 8 minutes of silence, across the 10-minute
 * cut), audio 3 s shorter than the picture.
 */
export async function longRecording(dir: string, s: Speech): Promise<string> {
  const out = join(dir, "lecture-long.mp4");
  const lead = 590;
  await ffmpeg([
    ...picture(lead + s.seconds + 3, 1),
    ...["-f", "lavfi", "-i", `anullsrc=r=16000:cl=mono:d=${lead}`, "-i", s.wav],
    ...["-filter_complex", "[1:a][2:a]concat=n=2:v=0:a=1[a]", "-map", "0:v", "-map", "[a]"],
    ...[...PICTURE, "-c:a", "aac", "-b:a", "32k", out],
  ]);
  return out;
}
