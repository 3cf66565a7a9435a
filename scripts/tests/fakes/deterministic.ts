/**
 * The default answers of the fakes: a transcript that depends only on the audio's duration,
 * so pipelines and benchmarks running on the fakes get stable, checkable output. Also builds
 * the small WAV files tests send.
 */

/** Words of the fake transcripts, cycled. Lowercase, like the offline engine. */
export const FAKE_WORDS = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliet",
];

export const FAKE_SEGMENT_SECONDS = 5;
const WORDS_PER_SEGMENT = 5;

export interface FakeWord {
  text: string;
  start: number;
  end: number;
}

export interface FakeSegment {
  start: number;
  end: number;
  text: string;
  /** "Speaker 1" / "Speaker 2", alternating per segment. */
  speaker: string;
  words: FakeWord[];
}

/**
 * Duration of the audio: exact for PCM WAV (from its header); otherwise estimated as if it
 * were 128 kbit/s, which is close enough for compressed speech to give a plausible transcript.
 */
export function audioSeconds(audio: Uint8Array): number {
  return wavSeconds(audio) ?? audio.byteLength / 16_000;
}

/** Five words per five seconds, alternating speakers, times rounded to milliseconds. */
export function fakeSegments(durationSeconds: number): FakeSegment[] {
  const segments: FakeSegment[] = [];
  for (let start = 0, n = 0; start < durationSeconds - 0.05; start += FAKE_SEGMENT_SECONDS, n++) {
    const end = Math.min(start + FAKE_SEGMENT_SECONDS, durationSeconds);
    const step = (end - start) / WORDS_PER_SEGMENT;
    const words = Array.from({ length: WORDS_PER_SEGMENT }, (_, i) => ({
      text: FAKE_WORDS[(n * WORDS_PER_SEGMENT + i) % FAKE_WORDS.length],
      start: round(start + i * step),
      end: round(start + (i + 0.9) * step),
    }));
    segments.push({
      start: round(start),
      end: round(end),
      text: words.map((w) => w.text).join(" "),
      speaker: `Speaker ${(n % 2) + 1}`,
      words,
    });
  }
  return segments;
}

/** A mono 16-bit PCM WAV of silence lasting `seconds` at `sampleRate`. */
export function makeWav(seconds: number, sampleRate = 8_000): Uint8Array<ArrayBuffer> {
  const dataBytes = Math.round(seconds * sampleRate) * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) =>
    [...text].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  return bytes;
}

function wavSeconds(audio: Uint8Array): number | undefined {
  const text = (offset: number) => String.fromCharCode(...audio.subarray(offset, offset + 4));
  if (audio.byteLength < 12 || text(0) !== "RIFF" || text(8) !== "WAVE") return undefined;
  const view = new DataView(audio.buffer, audio.byteOffset, audio.byteLength);
  let byteRate: number | undefined;
  for (let offset = 12; offset + 8 <= audio.byteLength;) {
    const id = text(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt " && offset + 20 <= audio.byteLength) {
      byteRate = view.getUint32(offset + 16, true);
    }
    if (id === "data" && byteRate) {
      // Streamed WAVs may leave the size open; what follows the header is the data.
      const dataBytes = Math.min(size, audio.byteLength - offset - 8);
      return dataBytes / byteRate;
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
