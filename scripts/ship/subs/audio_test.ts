/**
 * The CLI's extraction (both extractors: the native ffmpeg, and mediabunny — the web app's own
 * extract.ts) on recordings whose audio and picture differ: the manifest it makes passes
 * prepare's rules, with each chunk probed by prepare's own probe, and says where the audio
 * starts. Issue 24: an MP4 whose audio is 0.7 s shorter than its video was refused after the
 * whole upload; one whose audio starts 2 s late too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildManifest } from "../../../web/src/media/manifest.ts";
import {
  planRefusal,
  probedRefusal,
} from "../../../supabase/functions/_shared/audio/recording_windows.ts";
import { probeDuration } from "../../../supabase/functions/prepare/step.ts";
import { startRangeServer } from "../../tests/support/range_server.ts";
import {
  ffmpeg,
  mp4WithAudioLength,
  mp4WithLateAudio,
  mp4WithoutAudio,
  type Recording,
  toneWav,
  truncatedMp4,
  unknownCodecMka,
  zeroLengthWav,
} from "../../tests/support/recordings.ts";
import { extractToFiles, probeRecording } from "./audio.ts";
import { CliError } from "./errors.ts";

const EXTRACTORS = ["ffmpeg", "mediabunny"] as const;

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "subs-audio-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Extracts `rec` with `extractor` and checks the manifest as prepare would. */
async function assertAccepted(rec: Recording, extractor: string, dir: string) {
  const out = join(dir, `${extractor}-chunks`);
  const audio = await extractToFiles(rec.path, out, () => {}, extractor);
  const source = {
    filename: "x.mp4",
    bytes: 1,
    sha256: "0".repeat(64),
    duration: audio.duration,
    audio_start: audio.audioStart,
  };
  const manifest = buildManifest("u/j", source, audio, audio.chunks);
  const what = `${extractor} on ${rec.path}`;
  assert.equal(planRefusal(manifest, 4 * 3600), null, what);
  const server = startRangeServer();
  try {
    const probed = await Promise.all(
      audio.chunks.map(async (c) =>
        await probeDuration(server.file(c.name, await Deno.readFile(c.file)))
      ),
    );
    assert.equal(probedRefusal(manifest.chunks, probed), null, what);
  } finally {
    await server.close();
  }
  assert.ok(Math.abs(audio.duration - rec.audioSeconds) < 0.1, `${what}: ${audio.duration} s`);
  assert.ok(
    Math.abs(audio.audioStart - rec.audioStart) < 0.1,
    `${what}: starts ${audio.audioStart}`,
  );
}

Deno.test("an MP4 whose audio is 0.7 s shorter than its video is accepted, both extractors", async () => {
  await withDir(async (dir) => {
    const rec = await mp4WithAudioLength(
      join(dir, "short.mp4"),
      await toneWav(dir, 30),
      25.4,
      24.7,
    );
    for (const extractor of EXTRACTORS) await assertAccepted(rec, extractor, dir);
  });
});

Deno.test("an MP4 whose audio is longer than its video is accepted, both extractors", async () => {
  await withDir(async (dir) => {
    const rec = await mp4WithAudioLength(join(dir, "long.mp4"), await toneWav(dir, 30), 20, 26);
    for (const extractor of EXTRACTORS) await assertAccepted(rec, extractor, dir);
  });
});

Deno.test("an MP4 whose audio starts 2 s after the video: windows from the audio, audio_start 2", async () => {
  await withDir(async (dir) => {
    const rec = await mp4WithLateAudio(join(dir, "late.mp4"), await toneWav(dir, 20), 2);
    for (const extractor of EXTRACTORS) await assertAccepted(rec, extractor, dir);
  });
});

Deno.test("a video without an audio track is refused by the probe, before any hashing", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "silent-film.mp4");
    await mp4WithoutAudio(path, 5);
    for (const extractor of EXTRACTORS) {
      await assert.rejects(
        () => probeRecording(path, extractor),
        (e) => e instanceof CliError && e.code === "no_audio" && /no sound track/i.test(e.message),
        extractor,
      );
    }
  });
});

Deno.test("what cannot work is refused with a stable code and what to do, both extractors", async () => {
  await withDir(async (dir) => {
    const wav = await toneWav(dir, 5);
    const cases: [string, (path: string) => Promise<void>, string, RegExp][] = [
      ["damaged.mp4", (p) => truncatedMp4(p, wav), "unreadable_media", /damaged/],
      ["opaque.mka", (p) => unknownCodecMka(p, wav), "unsupported_codec", /convert it to AAC/i],
      ["zero.wav", zeroLengthWav, "empty_audio", /empty/],
    ];
    for (const [name, make, code, message] of cases) {
      const path = join(dir, name);
      await make(path);
      for (const extractor of EXTRACTORS) {
        await assert.rejects(
          () => probeRecording(path, extractor),
          (e) => e instanceof CliError && e.code === code && message.test(e.message),
          `${name} with ${extractor}`,
        );
      }
    }
  });
});

Deno.test("two audio tracks: the default one is used, and the probe says which", async () => {
  await withDir(async (dir) => {
    const wav = await toneWav(dir, 6);
    const path = join(dir, "two-tracks.mkv");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "sine=f=300:r=16000:d=3", "-i", wav, "-map", "0:a", "-map", "1:a"],
      ...["-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1", "default", path],
    ]);
    for (const extractor of EXTRACTORS) {
      const probe = await probeRecording(path, extractor);
      assert.deepEqual([probe.track, probe.tracks], [2, 2], extractor);
      assert.ok(Math.abs(probe.audioSeconds - 6) < 0.1, `${extractor}: ${probe.audioSeconds} s`);
      const audio = await extractToFiles(path, join(dir, extractor), () => {}, extractor);
      assert.ok(Math.abs(audio.duration - 6) < 0.1, `${extractor}: extracted ${audio.duration} s`);
    }
  });
});
