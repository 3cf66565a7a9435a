import assert from "node:assert/strict";
import { makeLongAudio, probeDuration } from "../../../../scripts/ship/asr/fixtures.ts";
import { mp3Layout, mp3Window, mp3WindowRange } from "./mp3_frames.ts";

Deno.test("an MP3 window is its frames of a byte range: right length, right start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await makeLongAudio(90, "mp3", `${dir}/a.mp3`);
    const file = await Deno.readFile(`${dir}/a.mp3`);
    const layout = mp3Layout(file.subarray(0, 64 * 1024), file.length);
    assert(layout && Math.abs(layout.duration - 90) < 0.2, `duration ${layout?.duration}`);
    const [from, to] = mp3WindowRange(layout, 30, 60);
    const window = mp3Window(layout, file.slice(from, to + 1), from, 30);
    assert(Math.abs(window.start - 30) < 0.1, `starts at ${window.start}`);
    assert(Math.abs(window.end - 60) < 0.2, `ends at ${window.end}`);
    await Deno.writeFile(`${dir}/w.mp3`, window.bytes);
    const seconds = await probeDuration(`${dir}/w.mp3`);
    assert(Math.abs(seconds - 30) < 0.3, `window lasts ${seconds} s`);

    await makeLongAudio(5, "aac", `${dir}/b.m4a`);
    const m4a = await Deno.readFile(`${dir}/b.m4a`);
    assert(mp3Layout(m4a.subarray(0, 64 * 1024), m4a.length) === null, "an M4A taken for MP3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
