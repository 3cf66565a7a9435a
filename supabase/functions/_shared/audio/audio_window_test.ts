import assert from "node:assert/strict";
import { makeLongAudio, probeDuration } from "../../../../scripts/ship/asr/fixtures.ts";
import { StepError } from "../engine/failure.ts";
import { BufferSource, cutAudioWindow, probeAudio } from "./audio_window.ts";

for (const codec of ["aac", "mp3"] as const) {
  Deno.test(`a ${codec} recording is probed and a window is cut without re-encoding`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/long.${codec === "aac" ? "m4a" : "mp3"}`;
      await makeLongAudio(90, codec, path);
      const bytes = await Deno.readFile(path);
      const probe = await probeAudio(new BufferSource(bytes));
      assert(Math.abs(probe.duration - 90) < 0.2, `duration ${probe.duration}`);
      assert(probe.codec === codec, `codec ${probe.codec}`);

      const window = await cutAudioWindow(new BufferSource(bytes), 30, 60);
      assert(window.start <= 30 && window.start > 29.9, `starts at ${window.start}`);
      assert(window.end >= 59.9 && window.end <= 60.1, `ends at ${window.end}`);
      const out = `${dir}/window.${window.extension}`;
      await Deno.writeFile(out, window.bytes);
      // ffprobe reads the cut as a file of its own, 30 s long, in the same codec.
      const seconds = await probeDuration(out);
      assert(Math.abs(seconds - 30) < 0.2, `window lasts ${seconds} s`);
      const reprobe = await probeAudio(new BufferSource(window.bytes));
      assert(reprobe.codec === codec, `window codec ${reprobe.codec}`);
      assert(window.bytes.length < bytes.length / 2.5, `window is ${window.bytes.length} bytes`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("bytes that are no recording are unreadable_media", async () => {
  const junk = new TextEncoder().encode("this is not audio at all ".repeat(200));
  for (
    const attempt of [
      () => probeAudio(new BufferSource(junk)),
      () => cutAudioWindow(new BufferSource(junk), 0, 10),
    ]
  ) {
    const error = await attempt().then(() => null, (e) => e);
    assert(error instanceof StepError, `got ${error}`);
    assert(error.code === "unreadable_media" && !error.retryable, `code ${error.code}`);
  }
});
