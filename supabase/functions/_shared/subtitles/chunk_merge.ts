/**
 * Stitches per-chunk transcripts into one for the merge step.
 *
 * The browser cuts the audio into chunks that overlap by a few seconds, so the speech in each
 * overlap is transcribed twice, and each chunk's engine names its speakers independently.
 * For every pair of neighbouring chunks this module
 * - finds the longest run of words both transcripts agree on inside the overlap (same words,
 *   about the same time) and cuts in the middle of that run: the earlier chunk keeps the words
 *   before the cut, the later one the words from it, so no word is shown twice or lost; words at
 *   the very edge of a chunk (audio cut mid-word) never decide the cut. Without such a run
 *   (silence, or the engines disagree) it cuts at the middle of the overlap by time;
 * - maps the later chunk's speaker labels onto the earlier ones by who talks at the same time in
 *   the overlap, and labels without evidence by order of appearance.
 * Output speakers are renamed "Speaker 1", "Speaker 2", ... in order of first appearance.
 *
 * Cost is linear in the number of words: only the overlap windows are compared pairwise, and
 * those are capped in size.
 */
import { z } from "zod";
import { type Segment, Transcript, type Word } from "./transcript.ts";

/** One chunk's transcript with where the chunk lies in the recording. */
export const TranscriptChunk = z.object({
  /** Position of the chunk in the recording, 0-based; chunks are merged in this order. */
  index: z.number().int().nonnegative(),
  /** Chunk start and end in seconds from the start of the recording. */
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  /**
   * Seconds of audio this chunk shares with the previous one, from `start` on. Defaults to
   * how far the previous chunk's `end` reaches past this chunk's `start`.
   */
  overlapStart: z.number().nonnegative().optional(),
  /** The chunk's transcript with times already absolute (shifted by `start`). */
  transcript: Transcript,
});
export type TranscriptChunk = z.infer<typeof TranscriptChunk>;

/** Seconds two engines may disagree on when the same word was said. */
const TIME_TOLERANCE = 1.5;
/** Fewest agreeing words that count as an alignment; one common word ("the") is chance. */
const MIN_AGREEING_WORDS = 2;
/** Cap on words compared per overlap side, keeping a boundary's work bounded. */
const MAX_WINDOW_WORDS = 400;

interface ChunkWord {
  text: string;
  /** Normalised for comparison: lower case letters and digits only; "" never matches. */
  key: string;
  start: number;
  end: number;
  /** Index into the chunk's sorted segments. */
  segment: number;
}

interface PreparedChunk {
  chunk: TranscriptChunk;
  segments: Segment[];
  /** First word index of each segment, plus one entry for the end. */
  segmentWordStart: number[];
  /** Whether a segment's words came from the engine (true) or were interpolated. */
  segmentTimed: boolean[];
  words: ChunkWord[];
  /** Kept words: [keepFrom, keepTo). */
  keepFrom: number;
  keepTo: number;
  /** Kept time range, for segments that have no words at all. */
  timeFrom: number;
  timeTo: number;
  /** Engine speaker label → global speaker number. */
  speakers: Map<string, number>;
}

function wordKey(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

/** Words of every segment in time order; wordless segments get evenly spread words. */
function prepare(chunk: TranscriptChunk): PreparedChunk {
  const segments = [...chunk.transcript.segments].sort((a, b) => a.start - b.start);
  const words: ChunkWord[] = [];
  const segmentWordStart: number[] = [];
  const segmentTimed: boolean[] = [];
  let lastStart = 0;
  segments.forEach((segment, index) => {
    segmentWordStart.push(words.length);
    const timed = (segment.words ?? []).filter((word) => word.text.trim().length > 0);
    segmentTimed.push(timed.length > 0);
    const source: Word[] = timed.length > 0 ? timed : spreadWords(segment);
    for (const word of source) {
      // Keep time non-decreasing so windows can be found by scanning.
      const start = Math.max(word.start, lastStart);
      lastStart = start;
      const text = word.text.trim();
      words.push({
        text,
        key: wordKey(text),
        start,
        end: Math.max(word.end, start),
        segment: index,
      });
    }
  });
  segmentWordStart.push(words.length);
  return {
    chunk,
    segments,
    segmentWordStart,
    segmentTimed,
    words,
    keepFrom: 0,
    keepTo: words.length,
    timeFrom: -Infinity,
    timeTo: Infinity,
    speakers: new Map(),
  };
}

/** Only for finding the cut; these times are never written out as word timings. */
function spreadWords(segment: Segment): Word[] {
  const texts = segment.text.split(/\s+/).filter((text) => text.length > 0);
  const total = texts.reduce((sum, text) => sum + text.length, 0);
  const perChar = total > 0 ? Math.max(0, segment.end - segment.start) / total : 0;
  let offset = 0;
  return texts.map((text) => {
    const start = segment.start + offset * perChar;
    offset += text.length;
    return { text, start, end: segment.start + offset * perChar };
  });
}

interface Cut {
  /** The earlier chunk keeps words before this index. */
  earlierTo: number;
  /** The later chunk keeps words from this index. */
  laterFrom: number;
  /** Wordless segments go to the earlier chunk when they start before this time. */
  time: number;
}

/** Finds where to switch from the earlier chunk's words to the later chunk's. */
function findCut(earlier: PreparedChunk, later: PreparedChunk): Cut {
  const windowStart = later.chunk.start;
  const windowEnd = later.chunk.overlapStart !== undefined
    ? later.chunk.start + later.chunk.overlapStart
    : Math.max(earlier.chunk.end, windowStart);

  // Earlier side: its kept words from just before the overlap on; later side: up to its end.
  let a = earlier.keepTo;
  while (
    a > earlier.keepFrom && earlier.words[a - 1].start >= windowStart - TIME_TOLERANCE &&
    earlier.keepTo - a < MAX_WINDOW_WORDS
  ) a--;
  const aWords = earlier.words.slice(a, earlier.keepTo);
  let b = 0;
  while (
    b < later.words.length && later.words[b].start < windowEnd + TIME_TOLERANCE &&
    b < MAX_WINDOW_WORDS
  ) b++;
  const bWords = later.words.slice(0, b);

  // Longest run of agreeing words (longest common substring), preferring the run nearest the
  // middle of the overlap, where both engines heard whole words.
  const middle = (windowStart + windowEnd) / 2;
  let bestLength = 0;
  let bestA = 0;
  let bestB = 0;
  let bestDistance = Infinity;
  let previousRow = new Int32Array(bWords.length + 1);
  let row = new Int32Array(bWords.length + 1);
  for (let i = 0; i < aWords.length; i++) {
    const wordA = aWords[i];
    for (let j = 0; j < bWords.length; j++) {
      const wordB = bWords[j];
      const agree = wordA.key !== "" && wordA.key === wordB.key &&
        Math.abs(wordA.start - wordB.start) <= TIME_TOLERANCE;
      row[j + 1] = agree ? previousRow[j] + 1 : 0;
      const length = row[j + 1];
      if (length === 0 || length < bestLength) continue;
      const runStart = aWords[i - length + 1].start;
      const distance = Math.abs((runStart + wordA.end) / 2 - middle);
      if (length > bestLength || distance < bestDistance) {
        bestLength = length;
        bestA = i;
        bestB = j;
        bestDistance = distance;
      }
    }
    [previousRow, row] = [row, previousRow];
  }

  if (bestLength >= MIN_AGREEING_WORDS) {
    const half = Math.floor(bestLength / 2);
    const earlierTo = a + bestA - bestLength + 1 + half;
    const laterFrom = bestB - bestLength + 1 + half;
    return { earlierTo, laterFrom, time: later.words[laterFrom].start };
  }

  // No agreement to align on: split the overlap in the middle by time, each word going to the
  // side its midpoint falls on.
  let earlierTo = earlier.keepFrom;
  while (
    earlierTo < earlier.keepTo &&
    (earlier.words[earlierTo].start + earlier.words[earlierTo].end) / 2 < middle
  ) earlierTo++;
  let laterFrom = 0;
  while (
    laterFrom < later.words.length &&
    (later.words[laterFrom].start + later.words[laterFrom].end) / 2 < middle
  ) laterFrom++;
  return { earlierTo, laterFrom, time: middle };
}

/** Labels of a chunk's kept segments in order of first appearance. */
function labelsInOrder(chunk: PreparedChunk): string[] {
  const labels: string[] = [];
  for (const segment of chunk.segments) {
    if (segment.speaker !== undefined && !labels.includes(segment.speaker)) {
      labels.push(segment.speaker);
    }
  }
  return labels;
}

/**
 * Maps the later chunk's speaker labels to global speaker numbers: first by how long each pair
 * of labels talks at the same time in the overlap (both chunks heard the same voice), then the
 * rest by order of appearance onto speakers this chunk has not used yet, then new speakers.
 */
function mapSpeakers(
  earlier: PreparedChunk,
  later: PreparedChunk,
  globalOrder: number[],
  nextSpeaker: () => number,
): void {
  const windowStart = later.chunk.start - TIME_TOLERANCE;
  const windowEnd = later.chunk.overlapStart !== undefined
    ? later.chunk.start + later.chunk.overlapStart
    : earlier.chunk.end;
  const agreement = new Map<string, number>(); // "global\u0000label" → seconds together
  const speakerOf = (chunk: PreparedChunk, word: ChunkWord) => chunk.segments[word.segment].speaker;
  const aWords = earlier.words.filter((word) => word.end > windowStart).slice(-MAX_WINDOW_WORDS);
  const bWords = later.words.filter((word) => word.start < windowEnd).slice(0, MAX_WINDOW_WORDS);
  for (const wordB of bWords) {
    const label = speakerOf(later, wordB);
    if (label === undefined) continue;
    for (const wordA of aWords) {
      const labelA = speakerOf(earlier, wordA);
      const global = labelA === undefined ? undefined : earlier.speakers.get(labelA);
      const together = Math.min(wordA.end, wordB.end) - Math.max(wordA.start, wordB.start);
      if (global === undefined || together <= 0) continue;
      const key = `${global}\u0000${label}`;
      agreement.set(key, (agreement.get(key) ?? 0) + together);
    }
  }
  const pairs = [...agreement].sort((x, y) => y[1] - x[1]);
  const usedGlobal = new Set<number>();
  for (const [key] of pairs) {
    const [global, label] = [Number(key.split("\u0000")[0]), key.slice(key.indexOf("\u0000") + 1)];
    if (usedGlobal.has(global) || later.speakers.has(label)) continue;
    later.speakers.set(label, global);
    usedGlobal.add(global);
  }
  for (const label of labelsInOrder(later)) {
    if (later.speakers.has(label)) continue;
    const free = globalOrder.find((global) => !usedGlobal.has(global));
    const global = free ?? nextSpeaker();
    later.speakers.set(label, global);
    usedGlobal.add(global);
  }
}

/** The kept part of each segment of a chunk, with its speaker renamed. */
function keptSegments(chunk: PreparedChunk, speakerName: (global: number) => string): Segment[] {
  const result: Segment[] = [];
  chunk.segments.forEach((segment, index) => {
    const first = chunk.segmentWordStart[index];
    const last = chunk.segmentWordStart[index + 1];
    const label = segment.speaker;
    const global = label === undefined ? undefined : chunk.speakers.get(label);
    const speaker = global === undefined ? {} : { speaker: speakerName(global) };
    if (first === last) {
      // No words to cut by: the segment belongs to the chunk whose kept time holds its start.
      if (segment.start >= chunk.timeFrom && segment.start < chunk.timeTo) {
        result.push({ ...segment, ...speaker });
      }
      return;
    }
    const from = Math.max(first, chunk.keepFrom);
    const to = Math.min(last, chunk.keepTo);
    if (from >= to) return;
    if (from === first && to === last) {
      result.push({ ...segment, ...speaker });
      return;
    }
    const kept = chunk.words.slice(from, to);
    result.push({
      start: from === first ? segment.start : kept[0].start,
      end: to === last ? segment.end : Math.max(...kept.map((word) => word.end)),
      text: kept.map((word) => word.text).join(" "),
      ...speaker,
      ...(chunk.segmentTimed[index]
        ? { words: kept.map(({ text, start, end }) => ({ text, start, end })) }
        : {}),
    });
  });
  return result;
}

/**
 * Merges chunk transcripts (any order; sorted by `index`) into one transcript of the whole
 * recording: overlap duplicates removed, speakers consistent and named "Speaker 1", ... in
 * order of appearance. Language is the first chunk's; duration the furthest chunk end.
 */
export function mergeChunks(chunks: TranscriptChunk[]): Transcript {
  const prepared = [...chunks].sort((x, y) => x.index - y.index).map(prepare);
  const globalOrder: number[] = [];
  const nextSpeaker = () => {
    globalOrder.push(globalOrder.length);
    return globalOrder.length - 1;
  };
  prepared.forEach((chunk, position) => {
    if (position === 0) {
      for (const label of labelsInOrder(chunk)) chunk.speakers.set(label, nextSpeaker());
      return;
    }
    const earlier = prepared[position - 1];
    const cut = findCut(earlier, chunk);
    earlier.keepTo = Math.max(earlier.keepFrom, cut.earlierTo);
    earlier.timeTo = cut.time;
    chunk.keepFrom = cut.laterFrom;
    chunk.timeFrom = cut.time;
    mapSpeakers(earlier, chunk, globalOrder, nextSpeaker);
  });

  // Number speakers by first appearance in what is actually kept (a label seen only in a
  // dropped overlap must not take a number).
  const names = new Map<number, string>();
  const speakerName = (global: number) => {
    let name = names.get(global);
    if (name === undefined) {
      name = `Speaker ${names.size + 1}`;
      names.set(global, name);
    }
    return name;
  };
  const segments = prepared.flatMap((chunk) => keptSegments(chunk, speakerName));

  const last = prepared.at(-1);
  const duration = prepared.reduce(
    (longest, { chunk }) => Math.max(longest, chunk.end, chunk.transcript.duration ?? 0),
    0,
  );
  return {
    language: prepared[0]?.chunk.transcript.language ?? "und",
    segments,
    ...(last ? { duration } : {}),
  };
}
