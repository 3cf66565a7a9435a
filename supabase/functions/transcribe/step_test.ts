import assert, { deepStrictEqual as assertEquals } from "node:assert";

function assertAlmostEquals(actual: number, expected: number, tolerance: number) {
  assert(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} ± ${tolerance}`);
}
import { makeLongAudio, probeDuration } from "../../../scripts/ship/asr/fixtures.ts";
import { startRangeServer, startRangeWorker } from "../../../scripts/tests/support/range_server.ts";
import { AUDIO_UPLOAD_BYTES, FUNCTION_MEMORY_BYTES } from "../_shared/engine/limits.ts";
import { detectUrlFormat } from "../_shared/audio/audio_format.ts";
import { readPieces } from "./step.ts";
import {
  mp4WithAudioLength,
  mp4WithLateAudio,
  toneWav,
} from "../../../scripts/tests/support/recordings.ts";
import { readWavHeader } from "../_shared/audio/wav.ts";

/** Peak of V8 heap + array buffers (what the function host limits) while `work` runs. */
async function peakMemory<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peak: number; growth: number }> {
  const sample = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = sample();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, sample())), 5);
  try {
    const result = await work();
    peak = Math.max(peak, sample());
    return { result, peak, growth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

Deno.test("a 10-minute window of a 3-hour 44.1 kHz stereo WAV fits OpenAI's 25 MB and 256 MB", async () => {
  const server = await startRangeWorker();
  try {
    // 1.9 GB, generated per range request (never held anywhere).
    const url = server.wav("long.wav", { seconds: 3 * 3600, sampleRate: 44100, channels: 2 });
    const format = await detectUrlFormat(url);
    assertEquals(format.kind, "wav");
    assert(format.size > 1.9e9, `size ${format.size}`);
    const { result: pieces, peak, growth } = await peakMemory(() =>
      readPieces(url, 5397, 6000, 3 * 3600, "long.wav.9")
    );
    assertEquals(pieces.length, 1);
    const [piece] = pieces;
    assert(piece.audio.length <= AUDIO_UPLOAD_BYTES, `upload is ${piece.audio.length} bytes`);
    // The window is 106 MB on disk; reading it must hold about its 19 MB output only.
    const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    assert(growth < 64 * 2 ** 20, `grew by ${mib(growth)}`);
    assert(peak < FUNCTION_MEMORY_BYTES, `peak ${mib(peak)}`);
    const header = readWavHeader(piece.audio)!;
    assertEquals([header.sampleRate, header.channels, header.bitsPerSample], [16000, 1, 16]);
    assertAlmostEquals(piece.end - piece.start, 603, 0.01);
    assertEquals(piece.start, 5397);
    // The tone survives the downmix: 440 Hz at amplitude 8000 (the box filter damps it a bit).
    const pcm = new Int16Array(piece.audio.slice(44).buffer);
    let max = 0;
    for (let i = 0; i < 16000; i++) max = Math.max(max, Math.abs(pcm[i]));
    assert(max > 6000 && max <= 8000, `amplitude ${max}`);
    const file = await Deno.makeTempFile({ suffix: ".wav" });
    await Deno.writeFile(file, piece.audio);
    assertAlmostEquals(await probeDuration(file), 603, 0.01);
    await Deno.remove(file);
  } finally {
    await server.close();
  }
});

Deno.test("a WAV window that fits is sent as it is", async () => {
  const server = startRangeServer();
  try {
    const url = server.wav("short.wav", { seconds: 30, sampleRate: 16000, channels: 1 });
    const [piece] = await readPieces(url, 0, 30, 30, "short.wav");
    const header = readWavHeader(piece.audio)!;
    assertEquals(header.sampleRate, 16000);
    assertEquals(piece.audio.length, 44 + 30 * 16000 * 2);
  } finally {
    await server.close();
  }
});

for (const codec of ["aac", "mp3"] as const) {
  Deno.test(`a ${codec} chunk over the upload budget is sent as shorter windows that fit`, async () => {
    const dir = await Deno.makeTempDir();
    const server = startRangeServer();
    try {
      const path = `${dir}/chunk.${codec === "aac" ? "m4a" : "mp3"}`;
      await makeLongAudio(120, codec, path);
      const bytes = await Deno.readFile(path);
      const url = server.file("chunk", bytes);
      // Whole and small enough: the file itself, unchanged.
      const [same] = await readPieces(url, 0, 120, 120, "chunk");
      assertEquals(same.audio, bytes);
      // A budget of a third of the file: at least 3 windows, each within it, covering it all.
      const budget = Math.ceil(bytes.length / 3);
      const pieces = await readPieces(url, 0, 120, 120, "chunk", budget);
      assert(pieces.length >= 3, `${pieces.length} pieces`);
      for (const p of pieces) assert(p.audio.length <= budget, `${p.audio.length} > ${budget}`);
      assert(pieces[0].start < 0.1, `starts at ${pieces[0].start}`);
      assert(pieces.at(-1)!.end > 119.5, `ends at ${pieces.at(-1)!.end}`);
      for (let i = 1; i < pieces.length; i++) {
        assert(pieces[i].start < pieces[i - 1].end, `gap before piece ${i}`);
      }
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a whole video whose sound starts 2 s in: its times start where the sound does", async () => {
  const dir = await Deno.makeTempDir();
  const server = startRangeServer();
  try {
    const wav = await toneWav(dir, 8);
    const late = await mp4WithLateAudio(`${dir}/late.mp4`, wav, 2);
    const onTime = await mp4WithAudioLength(`${dir}/on-time.mp4`, wav, 8, 8);
    const pieceOf = async (path: string, seconds: number) =>
      (await readPieces(server.file(path, await Deno.readFile(path)), 0, seconds, seconds, "v"))[0];
    assertAlmostEquals((await pieceOf(late.path, 10)).start, 2, 0.1);
    assertEquals((await pieceOf(onTime.path, 8)).start, 0);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
