/**
 * E2E (issue 24): the web app's own extraction in Chromium on recordings whose audio and picture
 * differ — audio starting 2 s after the picture (copied AAC, and PCM the browser re-encodes with
 * WebCodecs) and audio 0.7 s shorter than the picture — makes windows on the audio's timeline
 * that prepare's rules accept, with `audioStart` saying where the audio starts.
 */
import { join } from "node:path";
import {
  planRefusal,
  probedRefusal,
} from "../../../supabase/functions/_shared/audio/recording_windows.ts";
import { probeDuration } from "../../../supabase/functions/prepare/step.ts";
import {
  chooseFile,
  type HookWindow,
  launchChromium,
  openAppWithHooks,
  startSubmission,
  submissionOutcome,
} from "../support/browser.ts";
import { startRangeServer } from "../support/range_server.ts";
import {
  ffmpeg,
  mp4WithAudioLength,
  mp4WithLateAudio,
  mp4WithoutAudio,
  toneWav,
} from "../support/recordings.ts";
import { stackEnv } from "../support/stack_env.ts";
import { assert } from "../support/submissions.ts";

Deno.test("web app: late and short audio become windows on the audio's timeline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-recordings-e2e-" });
  const browser = await launchChromium();
  const server = startRangeServer();
  try {
    const wav = await toneWav(dir, 20);
    const lateAac = await mp4WithLateAudio(join(dir, "late.mp4"), wav, 2);
    const short = await mp4WithAudioLength(join(dir, "short.mp4"), wav, 15.4, 14.7);
    const latePcm = join(dir, "late-pcm.mov");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "color=c=navy:s=160x120:r=5:d=22", "-itsoffset", "2", "-i", wav],
      ...["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast"],
      ...["-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", latePcm],
    ]);
    const app = await openAppWithHooks(browser, stackEnv().SUPABASE_URL);
    const cases: [string, number, number][] = [
      [lateAac.path, lateAac.audioSeconds, 2],
      [latePcm, 20, 2],
      [short.path, 14.7, 0],
    ];
    for (const [path, seconds, audioStart] of cases) {
      await chooseFile(app.page, path);
      const audio = await app.page.evaluate(async () => {
        const w = globalThis as unknown as HookWindow;
        const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
        const audio = await w.__aiSubsTest.extractAudio(file);
        const chunks = await Promise.all(audio.chunks.map(async ({ blob, ...c }) => ({
          ...c,
          bytes: Array.from(new Uint8Array(await blob.arrayBuffer())),
        })));
        return { ...audio, chunks };
      });
      const what = `${path} (${audio.method})`;
      const plan = {
        source: { duration: audio.duration, audio_start: audio.audioStart },
        chunks: audio.chunks.map(({ bytes: _b, name, ...c }) => ({ ...c, path: name })),
      };
      assert(
        planRefusal(plan, 4 * 3600) === null,
        `${what}: ${JSON.stringify(planRefusal(plan, 4 * 3600))}`,
      );
      const probed = await Promise.all(
        audio.chunks.map((c) => probeDuration(server.file(c.name, new Uint8Array(c.bytes)))),
      );
      const refusal = probedRefusal(plan.chunks, probed);
      assert(refusal === null, `${what}: ${JSON.stringify(refusal)}`);
      assert(Math.abs(audio.duration - seconds) < 0.15, `${what}: ${audio.duration} s of audio`);
      assert(Math.abs(audio.audioStart - audioStart) < 0.1, `${what}: starts ${audio.audioStart}`);
    }
    await app.close();
  } finally {
    await server.close();
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web form: an unknown preset and a video without sound are refused before hashing; the page names the audio track", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-recordings-e2e-" });
  const browser = await launchChromium();
  try {
    const silent = join(dir, "silent-film.mp4");
    await mp4WithoutAudio(silent, 3);
    const wav = await toneWav(dir, 4);
    const twoTracks = join(dir, "two-tracks.mkv");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "sine=f=300:r=16000:d=4", "-i", wav, "-map", "0:a", "-map", "1:a"],
      ...["-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1", "default", twoTracks],
    ]);
    const app = await openAppWithHooks(browser, stackEnv().SUPABASE_URL);
    const phases = () =>
      app.page.evaluate(() => (globalThis as unknown as HookWindow).__progress.map((p) => p));

    await chooseFile(app.page, twoTracks);
    await startSubmission(app.page, { caption_style: { preset: "netflix" } });
    const preset = await submissionOutcome(app.page);
    assert(
      !preset.ok && preset.code === "invalid_options" &&
        preset.message.includes("bbc, dcmp, default, netflix_en"),
      JSON.stringify(preset),
    );
    assert(!(await phases()).some((p) => p.phase === "hashing"), "hashed before refusing");

    await chooseFile(app.page, silent);
    await startSubmission(app.page, {});
    const silence = await submissionOutcome(app.page);
    assert(!silence.ok && silence.code === "no_audio", JSON.stringify(silence));
    assert(!(await phases()).some((p) => p.phase === "hashing"), "hashed before refusing");

    await chooseFile(app.page, twoTracks);
    await startSubmission(app.page, {});
    await app.page.waitForFunction(() =>
      (globalThis as unknown as HookWindow).__progress.some((p) => p.phase === "uploading")
    );
    const extracting = (await phases()).find((p) => p.phase === "extracting");
    await app.page.evaluate(() => (globalThis as unknown as HookWindow).__handle.abort());
    await submissionOutcome(app.page);
    assert(extracting?.detail === "audio track 2 of 2, the default", JSON.stringify(extracting));
    await app.close();
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
