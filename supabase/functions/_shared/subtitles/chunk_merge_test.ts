import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { mergeChunks, TranscriptChunk } from "./chunk_merge.ts";
import { type Segment, Transcript } from "./transcript.ts";

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SpokenWord {
  text: string;
  start: number;
  end: number;
  /** Who really speaks. */
  speaker: string;
}

/**
 * The ground truth: `seconds` of conversation between `speakers`, turns of 5-40 words, a
 * pause now and then. Every word is unique ("w123"), so a lost or doubled word is visible.
 */
function conversation(seconds: number, speakers: string[], seed = 1): SpokenWord[] {
  const next = random(seed);
  const words: SpokenWord[] = [];
  let time = 0.5;
  let turn = 0;
  while (time < seconds) {
    const speaker = speakers[turn++ % speakers.length];
    const turnLength = 5 + Math.floor(next() * 36);
    for (let k = 0; k < turnLength && time < seconds; k++) {
      const duration = 0.15 + next() * 0.2;
      words.push({ text: `w${words.length}`, start: time, end: time + duration, speaker });
      time += duration + 0.05 + (next() < 0.05 ? 1 + next() * 2 : 0);
    }
  }
  return words;
}

interface ChunkingOptions {
  length: number;
  overlap: number;
  /** Per-chunk engine clock offset up to ± this many seconds. */
  jitter?: number;
  /** Words this close to a chunk edge are misheard (different text) or dropped. */
  garbleEdge?: number;
  /** Give segment text only, no word timings. */
  withoutWords?: boolean;
  seed?: number;
}

/** What per-chunk engines would return: independent speaker labels, edges unreliable. */
function transcribeInChunks(truth: SpokenWord[], options: ChunkingOptions): TranscriptChunk[] {
  const next = random(options.seed ?? 2);
  const total = truth.at(-1)!.end;
  const chunks: TranscriptChunk[] = [];
  for (let index = 0; index * options.length < total; index++) {
    const start = index * options.length;
    const end = (index + 1) * options.length + options.overlap;
    const offset = ((next() * 2) - 1) * (options.jitter ?? 0);
    const labels = new Map<string, string>();
    const segments: Segment[] = [];
    let current: Segment | undefined;
    for (const word of truth) {
      if (word.start < start || word.end > end) continue;
      // Only edges another chunk also covers: the recording's own start and end have no second
      // opinion to correct them.
      const edge = options.garbleEdge ?? 0;
      const nearEdge = (index > 0 && word.start - start < edge) ||
        (end < total && end - word.end < edge);
      if (nearEdge && next() < 0.5) continue; // dropped
      const text = nearEdge ? `misheard${Math.floor(next() * 1000)}` : word.text;
      if (!labels.has(word.speaker)) {
        labels.set(word.speaker, String.fromCharCode(65 + labels.size));
      }
      const speaker = labels.get(word.speaker)!;
      const timed = { text, start: word.start + offset, end: word.end + offset };
      if (!current || current.speaker !== speaker || current.words!.length >= 12) {
        current = { start: timed.start, end: timed.end, text: "", speaker, words: [] };
        segments.push(current);
      }
      current.words!.push(timed);
      current.end = timed.end;
      current.text = current.words!.map((w) => w.text).join(" ");
    }
    if (options.withoutWords) { for (const segment of segments) delete segment.words; }
    chunks.push({
      index,
      start,
      end,
      ...(index > 0 ? { overlapStart: options.overlap } : {}),
      transcript: { language: "en", segments },
    });
  }
  return chunks;
}

function mergedWords(transcript: Transcript): { text: string; speaker?: string }[] {
  return transcript.segments.flatMap((segment) =>
    segment.text.split(" ").filter(Boolean).map((text) => ({ text, speaker: segment.speaker }))
  );
}

/**
 * Every true word exactly once, in order, and (unless `exactSpeakers` is false) one output
 * label per true speaker.
 */
function assertFaithful(truth: SpokenWord[], merged: Transcript, exactSpeakers = true): void {
  Transcript.parse(merged);
  const words = mergedWords(merged);
  assertEquals(words.map((word) => word.text), truth.map((word) => word.text));
  const speakers = new Set(truth.map((word) => word.speaker));
  assertEquals(new Set(words.map((word) => word.speaker)).size, speakers.size, "speaker count");
  if (!exactSpeakers) return;
  const labelOf = new Map<string, string>();
  const speakerOf = new Map<string, string>();
  words.forEach((word, k) => {
    const real = truth[k].speaker;
    assert(word.speaker !== undefined, `word ${k} has a speaker`);
    assertEquals(labelOf.get(real) ?? word.speaker, word.speaker, `speaker of word ${k}`);
    assertEquals(speakerOf.get(word.speaker) ?? real, real, `label of word ${k}`);
    labelOf.set(real, word.speaker);
    speakerOf.set(word.speaker, real);
  });
  // Numbered in order of appearance.
  const order = [...new Set(words.map((word) => word.speaker))];
  assertEquals(order, order.map((_, k) => `Speaker ${k + 1}`));
  for (let k = 1; k < merged.segments.length; k++) {
    assert(merged.segments[k].start >= merged.segments[k - 1].start - 1.5, `order at ${k}`);
  }
}

Deno.test("overlapping chunks merge without a doubled or lost word", () => {
  const truth = conversation(3000, ["ann", "bob"]);
  const chunks = transcribeInChunks(truth, { length: 600, overlap: 5 });
  const merged = mergeChunks(chunks);
  assertFaithful(truth, merged);
  assertEquals(merged.duration, chunks.at(-1)!.end);
  // Word timings survive, also for segments cut at a chunk boundary.
  const timed = merged.segments.flatMap((segment) => segment.words ?? []);
  assertEquals(timed.map((word) => word.text), truth.map((word) => word.text));
});

Deno.test("misheard words at chunk edges and clock offsets do not leak into the result", () => {
  const truth = conversation(2400, ["ann", "bob"], 5);
  const chunks = transcribeInChunks(truth, {
    length: 600,
    overlap: 8,
    jitter: 0.4,
    garbleEdge: 1.5,
    seed: 9,
  });
  const merged = mergeChunks(chunks);
  const words = mergedWords(merged);
  assert(!words.some((word) => word.text.startsWith("misheard")), "edge words not kept");
  assertFaithful(truth, merged);
});

Deno.test("segments without word timings are cut by interpolated words", () => {
  const truth = conversation(1800, ["ann", "bob"], 7);
  const chunks = transcribeInChunks(truth, { length: 600, overlap: 6, withoutWords: true });
  const merged = mergeChunks(chunks);
  assertFaithful(truth, merged);
  assert(merged.segments.every((segment) => segment.words === undefined), "no invented timings");
});

Deno.test("a silent overlap is cut by time", () => {
  const first: Transcript = {
    language: "en",
    segments: [
      { start: 590, end: 595, text: "end of part one", speaker: "X" },
      { start: 604, end: 606, text: "", speaker: "X" }, // a wordless segment in the overlap
    ],
  };
  const second: Transcript = {
    language: "en",
    segments: [
      { start: 603.9, end: 606, text: "", speaker: "Y" },
      { start: 606, end: 609, text: "start of part two", speaker: "Y" },
    ],
  };
  const merged = mergeChunks([
    { index: 1, start: 600, end: 1200, overlapStart: 5, transcript: second },
    { index: 0, start: 0, end: 605, transcript: first },
  ]);
  assertEquals(merged.segments.map((segment) => segment.text), [
    "end of part one",
    "",
    "start of part two",
  ]);
  assertEquals(merged.segments.map((segment) => segment.start), [590, 603.9, 606]);
});

Deno.test("speakers stay few when overlaps carry no evidence", () => {
  // Pauses longer than the overlap at every chunk boundary: labels are mapped by order of
  // appearance instead of multiplying with every chunk.
  const segments = (from: number, labels: string[]) =>
    labels.map((speaker, k) => ({
      start: from + 10 + k * 20,
      end: from + 15 + k * 20,
      text: `turn ${from + k}`,
      speaker,
    }));
  const chunks = [0, 1, 2, 3, 4].map((index) => ({
    index,
    start: index * 600,
    end: index * 600 + 605,
    ...(index > 0 ? { overlapStart: 5 } : {}),
    transcript: { language: "en", segments: segments(index * 600, ["A", "B", "A", "B"]) },
  }));
  const merged = mergeChunks(chunks);
  assertEquals(merged.segments.length, 20);
  assertEquals(
    [...new Set(merged.segments.map((segment) => segment.speaker))],
    ["Speaker 1", "Speaker 2"],
  );
});

Deno.test("speaker labels follow the voices across chunks, not the engine's letters", () => {
  const say = (speaker: string, from: number, texts: string[]): Segment => {
    const words = texts.map((text, k) => ({ text, start: from + k, end: from + k + 0.8 }));
    return { start: from, end: words.at(-1)!.end, text: texts.join(" "), speaker, words };
  };
  // Ann opens, Bob talks across the chunk boundary at 600 s. The second chunk's engine hears
  // Bob first and calls him "A"; ordering by appearance alone would turn him into Ann.
  const first: Transcript = {
    language: "en",
    segments: [
      say("A", 10, ["hello", "I", "am", "ann"]),
      say("B", 596, ["and", "I", "am", "bob", "so", "let", "us", "go"]),
    ],
  };
  const second: Transcript = {
    language: "en",
    segments: [
      say("A", 600, ["so", "let", "us", "go", "now"]),
      say("B", 620, ["fine", "bob"]),
    ],
  };
  const merged = mergeChunks([
    { index: 0, start: 0, end: 605, transcript: first },
    { index: 1, start: 600, end: 1200, overlapStart: 5, transcript: second },
  ]);
  assertEquals(merged.segments.map((segment) => [segment.speaker, segment.text]), [
    ["Speaker 1", "hello I am ann"],
    ["Speaker 2", "and I am bob so let"],
    ["Speaker 2", "us go now"],
    ["Speaker 1", "fine bob"],
  ]);
});

Deno.test("a single chunk gets speakers renamed and nothing else changes", () => {
  const transcript: Transcript = {
    language: "fr",
    duration: 30,
    segments: [
      { start: 1, end: 2, text: "Bonjour", speaker: "SPEAKER_07" },
      { start: 3, end: 4, text: "Salut", speaker: "SPEAKER_02" },
      { start: 5, end: 6, text: "Ça va ?" },
    ],
  };
  const merged = mergeChunks([{ index: 0, start: 0, end: 30, transcript }]);
  assertEquals(merged, {
    language: "fr",
    duration: 30,
    segments: [
      { start: 1, end: 2, text: "Bonjour", speaker: "Speaker 1" },
      { start: 3, end: 4, text: "Salut", speaker: "Speaker 2" },
      { start: 5, end: 6, text: "Ça va ?" },
    ],
  });
  assertEquals(mergeChunks([]), { language: "und", segments: [] });
});

// Its speed is a figure of `deno task bench` (step_cpu_merge_ms), not a timed test: this
// machine is shared and a wall-clock limit here failed under load without any change.
Deno.test("a three-hour recording of four voices merges faithfully", () => {
  const truth = conversation(3.5 * 3600, ["ann", "bob", "cy", "dee"], 13);
  assert(truth.length > 30_000, `${truth.length} words`);
  const chunks = transcribeInChunks(truth, { length: 600, overlap: 5, jitter: 0.2 });
  TranscriptChunk.array().parse(chunks);
  const merged = mergeChunks(chunks);
  // Four voices, of which a 5 s overlap usually hears one or two: the others are matched by
  // order of appearance, a guess, so only words and the number of speakers must be exact.
  assertFaithful(truth, merged, false);
});
