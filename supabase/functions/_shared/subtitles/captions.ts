/**
 * Caption layout and rendering for the render step: turns a {@link Transcript} into cues that
 * obey the caption rules of DESIGN.md and writes them as SRT, WebVTT or JSON.
 *
 * Pipeline: transcript → timed tokens (engine word timings, or words interpolated across their
 * segment) → runs (a speaker change or a pause always ends a run) → cues (a dynamic program per
 * run picks the cue boundaries: every cue fits the line rules and 7 s, breaks prefer sentence and
 * clause ends, short and lopsided cues are avoided) → lines (balanced, preferring a break after
 * punctuation) → timing (each cue gets the display time its text needs, borrowing the silence
 * after it, or a bounded delay of the next cue when there is no silence).
 *
 * Corners where the rules cannot all hold, and what this module chooses:
 * - One word longer than a line (URLs, German compounds, CJK text without spaces): it is
 *   hard-wrapped into line-sized pieces at grapheme boundaries, its time shared between pieces.
 * - Speech that stays faster than 20 characters per second: splitting cannot help (the rate of
 *   the pieces averages to the rate of the whole), so cues are delayed into the following
 *   pauses, at most {@link LayoutOptions.maxLag} seconds behind the speech. Beyond that the
 *   reading-speed rule gives way to synchronisation and {@link checkCaptionRules} reports it.
 * - A cue shorter than 0.833 s with no silence after it: inside one speaker's run the cue
 *   partition avoids it by merging with a neighbour; at a speaker change (quick "Yes." / "No."
 *   exchanges) it keeps its minimum duration and delays the next cue instead.
 * - A single word lasting longer than 7 s (a sloppy engine): its cue is cut at 7 s.
 * - "Characters" are grapheme clusters, so an emoji or an accented letter counts once.
 */
import { z } from "zod";
import type { Segment, Transcript } from "./transcript.ts";
import type { CaptionDocument } from "./caption_document.ts";

/** The limits a cue must respect; times in seconds. */
export interface CaptionRules {
  maxLineChars: number;
  maxLines: number;
  /** Reading speed: characters of the cue text (without line breaks) per second on screen. */
  maxCharsPerSecond: number;
  minDuration: number;
  maxDuration: number;
}

/** The caption rules of DESIGN.md. */
export const CAPTION_RULES: Readonly<CaptionRules> = Object.freeze({
  maxLineChars: 42,
  maxLines: 2,
  maxCharsPerSecond: 20,
  minDuration: 0.833,
  maxDuration: 7,
});

/** Options of {@link layoutCues}; every rule can be overridden (e.g. shorter lines for CJK). */
export interface LayoutOptions extends Partial<CaptionRules> {
  /** A silence at least this long (s) between two words always ends a cue. Default 1. */
  pauseBreak?: number;
  /**
   * How far (s) a cue may start after its first word is spoken when earlier cues need more
   * reading time than the speech leaves them. Default 2.
   */
  maxLag?: number;
  /**
   * Every transcript segment ends a cue (an edited transcript: each segment is a cue the owner
   * made, split further only where it breaks the rules). Default false.
   */
  keepSegments?: boolean;
}

/** One caption on screen. Times in seconds (millisecond precision). */
export interface Cue {
  start: number;
  end: number;
  /** One to `maxLines` lines, none empty, none containing a line break. */
  lines: string[];
  speaker?: string;
}

/** A broken caption rule, as found by {@link checkCaptionRules}. */
export interface CaptionViolation {
  /** Index of the offending cue in the list given. */
  cue: number;
  rule:
    | "empty"
    | "line-length"
    | "line-count"
    | "reading-speed"
    | "min-duration"
    | "max-duration"
    | "overlap";
  detail: string;
}

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Characters as a viewer counts them: grapheme clusters (an emoji family is one). */
export function countChars(text: string): number {
  // Most transcript text is plain ASCII, where code units are graphemes; skip the segmenter.
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let count = 0;
  for (const _ of graphemeSegmenter.segment(text)) count++;
  return count;
}

function graphemesOf(text: string): string[] {
  return Array.from(graphemeSegmenter.segment(text), (part) => part.segment);
}

/** A word placed on the timeline, ready to be laid out. */
interface Token {
  text: string;
  chars: number;
  start: number;
  end: number;
  speaker?: string;
  /** Continuation of a hard-wrapped word: no space before it. */
  glued: boolean;
  /** Index of the segment (in time order) the word comes from. */
  segment: number;
}

interface TimedWord {
  text: string;
  start: number;
  end: number;
}

/** Words of a segment with times: the engine's when given, interpolated otherwise. */
function wordsOfSegment(segment: Segment): TimedWord[] {
  const textWords = segment.text.split(/\s+/).filter((word) => word.length > 0);
  const engineWords = (segment.words ?? [])
    .map((word) => ({ ...word, text: word.text.replace(/\s+/g, " ").trim() }))
    .filter((word) => word.text.length > 0);
  if (engineWords.length > 0) {
    // Engines often give bare words and punctuate only the segment text; when the two line up
    // one to one, show the punctuated text (it drives sentence-aware breaks) with word timings.
    if (textWords.length === engineWords.length) {
      return engineWords.map((word, i) => ({ ...word, text: textWords[i] }));
    }
    return engineWords;
  }
  return interpolateWords(textWords, segment.start, Math.max(segment.end, segment.start));
}

/** Spreads words over [start, end] in proportion to their length in characters. */
function interpolateWords(words: string[], start: number, end: number): TimedWord[] {
  const lengths = words.map(countChars);
  const total = lengths.reduce((sum, length) => sum + length, 0);
  const secondsPerChar = total > 0 ? (end - start) / total : 0;
  let offset = 0;
  return words.map((text, i) => {
    const wordStart = start + offset * secondsPerChar;
    offset += lengths[i];
    return { text, start: wordStart, end: start + offset * secondsPerChar };
  });
}

/** Flattens the transcript into tokens in reading order with non-decreasing start times. */
function tokenize(transcript: Transcript, maxLineChars: number): Token[] {
  // Array.prototype.sort is stable, so segments starting together keep the engine's order.
  const segments = [...transcript.segments].sort((a, b) => a.start - b.start);
  const tokens: Token[] = [];
  let lastStart = 0;
  for (const [index, segment] of segments.entries()) {
    for (const word of wordsOfSegment(segment)) {
      // Sloppy engines overlap segments or misorder words; keep the text order and never let
      // time run backwards, so later stages can rely on sorted starts.
      const start = Math.max(word.start, lastStart);
      const end = Math.max(word.end, start);
      lastStart = start;
      pushWord(tokens, word.text, start, end, segment.speaker, maxLineChars, index);
    }
  }
  return tokens;
}

/** Adds one word, hard-wrapping it into line-sized pieces when it is longer than a line. */
function pushWord(
  tokens: Token[],
  text: string,
  start: number,
  end: number,
  speaker: string | undefined,
  maxLineChars: number,
  segment: number,
): void {
  const chars = countChars(text);
  if (chars <= maxLineChars) {
    tokens.push({ text, chars, start, end, speaker, glued: false, segment });
    return;
  }
  const graphemes = graphemesOf(text);
  const pieces = Math.ceil(graphemes.length / maxLineChars);
  for (let piece = 0; piece < pieces; piece++) {
    const from = piece * maxLineChars;
    const to = Math.min(from + maxLineChars, graphemes.length);
    tokens.push({
      text: graphemes.slice(from, to).join(""),
      chars: to - from,
      start: start + (end - start) * from / graphemes.length,
      end: start + (end - start) * to / graphemes.length,
      speaker,
      glued: piece > 0,
      segment,
    });
  }
}

const SENTENCE_END = /[.!?…。！？]["'’”»)\]]*$/u;
const CLAUSE_END = /[,;:–—、，；：]["'’”»)\]]*$/u;

/** How natural it is to end a cue or a line after this word: 0 = ideal, 1 = mid-phrase. */
function breakBadness(text: string): number {
  if (SENTENCE_END.test(text)) return 0;
  if (CLAUSE_END.test(text)) return 0.4;
  return 1;
}

/** Tracks whether a growing list of tokens still fits in the allowed lines (greedy fill). */
class LineFit {
  private lines = 1;
  private length = 0;
  chars = 0;

  constructor(private readonly rules: CaptionRules) {}

  /** Adds a token; false when it no longer fits (the fitter is then spent). */
  add(token: Token): boolean {
    this.chars += token.chars;
    if (this.length === 0) {
      this.length = token.chars;
      return true;
    }
    const joined = this.length + (token.glued ? 0 : 1) + token.chars;
    if (joined <= this.rules.maxLineChars) {
      this.length = joined;
      return true;
    }
    // Greedy filling is optimal for feasibility: the fuller the earlier lines, the less is
    // left for the later ones.
    this.lines++;
    this.length = token.chars;
    return this.lines <= this.rules.maxLines;
  }
}

/**
 * Splits tokens[from, to) — one speaker, no long pause — into cues. Returns the index after
 * each cue's last token. Cost per cue: 1, plus how unnatural its last word is as a break,
 * plus a penalty when it would be too short to read, plus a small one for leaving it sparse
 * (so 85 characters become 45 + 40 rather than 84 + 1).
 */
function partitionRun(tokens: Token[], from: number, to: number, rules: CaptionRules): number[] {
  const size = to - from;
  const best = new Float64Array(size + 1).fill(Infinity);
  const previous = new Int32Array(size + 1);
  best[0] = 0;
  const capacity = rules.maxLines * rules.maxLineChars;
  for (let i = 0; i < size; i++) {
    if (best[i] === Infinity) continue;
    const fit = new LineFit(rules);
    const cueStart = tokens[from + i].start;
    let cueEnd = cueStart;
    for (let j = i; j < size; j++) {
      const token = tokens[from + j];
      if (!fit.add(token)) break;
      cueEnd = Math.max(cueEnd, token.end);
      // A single token always makes a cue, even if the engine says it lasts longer than 7 s.
      if (j > i && cueEnd - cueStart > rules.maxDuration) break;
      const last = j === size - 1;
      let cost = 1;
      if (!last) {
        const next = tokens[from + j + 1];
        cost += next.glued ? 0.5 : breakBadness(token.text);
        const shown = Math.min(cueEnd, next.start) - cueStart;
        if (shown < rules.minDuration) cost += 2;
      }
      cost += 0.3 * (1 - fit.chars / capacity) ** 2;
      if (best[i] + cost < best[j + 1]) {
        best[j + 1] = best[i] + cost;
        previous[j + 1] = i;
      }
    }
  }
  const ends: number[] = [];
  for (let end = size; end > 0; end = previous[end]) ends.push(from + end);
  return ends.reverse();
}

/** Joins tokens[from, to) into text, without a space before hard-wrap continuations. */
function joinTokens(tokens: Token[], from: number, to: number): string {
  let text = "";
  for (let k = from; k < to; k++) {
    text += k > from && !tokens[k].glued ? " " + tokens[k].text : tokens[k].text;
  }
  return text;
}

/**
 * Breaks a cue's tokens into at most maxLines lines: minimum raggedness (sum of squared free
 * space, so lines come out balanced and no more numerous than needed), with a bonus for ending
 * a line after punctuation.
 */
function breakLines(tokens: Token[], from: number, to: number, rules: CaptionRules): string[] {
  const size = to - from;
  // cost[lines][j]: best cost of putting the first j tokens on `lines` lines.
  const cost = Array.from({ length: rules.maxLines + 1 }, () => new Array(size + 1).fill(Infinity));
  const previous = Array.from({ length: rules.maxLines + 1 }, () => new Array(size + 1).fill(0));
  cost[0][0] = 0;
  for (let lines = 1; lines <= rules.maxLines; lines++) {
    for (let j = 1; j <= size; j++) {
      // Grow the line leftwards from token j-1; its width only increases, so stop when full.
      let length = -1;
      for (let i = j - 1; i >= 0; i--) {
        length += tokens[from + i].chars + (i + 1 < j && tokens[from + i + 1].glued ? 0 : 1);
        if (length > rules.maxLineChars) break;
        if (cost[lines - 1][i] === Infinity) continue;
        const slack = rules.maxLineChars - length;
        const lineEndsCue = j === size;
        const bonus = lineEndsCue ? 0 : (1 - breakBadness(tokens[from + j - 1].text)) * 250;
        const total = cost[lines - 1][i] + slack * slack - bonus;
        if (total < cost[lines][j]) {
          cost[lines][j] = total;
          previous[lines][j] = i;
        }
      }
    }
  }
  let bestLines = 1;
  for (let lines = 2; lines <= rules.maxLines; lines++) {
    if (cost[lines][size] < cost[bestLines][size]) bestLines = lines;
  }
  const result: string[] = [];
  for (let lines = bestLines, j = size; lines > 0; lines--) {
    const i = previous[lines][j];
    result.push(joinTokens(tokens, from + i, from + j));
    j = i;
  }
  return result.reverse();
}

interface DraftCue {
  /** Seconds: the speech the cue shows starts at `start` and ends at `end`. */
  start: number;
  end: number;
  lines: string[];
  chars: number;
  speaker?: string;
}

/**
 * Lays the transcript out as caption cues that obey {@link CAPTION_RULES} (or the rules given),
 * in time order, never overlapping. See the module comment for the corners that cannot obey.
 */
export function layoutCues(transcript: Transcript, options: LayoutOptions = {}): Cue[] {
  const rules: CaptionRules = {
    maxLineChars: options.maxLineChars ?? CAPTION_RULES.maxLineChars,
    maxLines: options.maxLines ?? CAPTION_RULES.maxLines,
    maxCharsPerSecond: options.maxCharsPerSecond ?? CAPTION_RULES.maxCharsPerSecond,
    minDuration: options.minDuration ?? CAPTION_RULES.minDuration,
    maxDuration: options.maxDuration ?? CAPTION_RULES.maxDuration,
  };
  const pauseBreak = options.pauseBreak ?? 1;
  const maxLag = options.maxLag ?? 2;

  const tokens = tokenize(transcript, rules.maxLineChars);
  const drafts: DraftCue[] = [];
  let runStart = 0;
  let runEnd = 0; // latest word end in the current run
  for (let k = 0; k <= tokens.length; k++) {
    const token = tokens[k];
    const endsRun = k === tokens.length || k === 0 ||
      token.speaker !== tokens[runStart].speaker || token.start - runEnd >= pauseBreak ||
      (options.keepSegments === true && token.segment !== tokens[k - 1].segment);
    if (endsRun && k > runStart) {
      let cueStart = runStart;
      for (const cueEnd of partitionRun(tokens, runStart, k, rules)) {
        let end = tokens[cueStart].end;
        for (let m = cueStart; m < cueEnd; m++) end = Math.max(end, tokens[m].end);
        const lines = breakLines(tokens, cueStart, cueEnd, rules);
        drafts.push({
          start: Math.round(tokens[cueStart].start * 1000),
          end: Math.round(end * 1000),
          lines,
          // Reading speed counts what is on screen: spaces too, line breaks not.
          chars: lines.reduce((sum, line) => sum + countChars(line), 0),
          speaker: tokens[cueStart].speaker,
        });
        cueStart = cueEnd;
      }
      runStart = k;
    }
    if (endsRun) runEnd = token?.end ?? 0;
    else runEnd = Math.max(runEnd, token.end);
  }
  return scheduleCues(drafts, rules, maxLag);
}

/**
 * Gives every cue its display interval, in integer milliseconds so that rounding in the
 * renderers can never create an overlap or a too-short cue. Each cue starts with its speech
 * (or when the previous cue leaves the screen) and stays long enough to be read, using the
 * silence after it first and delaying the next cue by at most maxLag after that.
 */
function scheduleCues(drafts: DraftCue[], rules: CaptionRules, maxLag: number): Cue[] {
  const minMs = Math.ceil(rules.minDuration * 1000);
  const maxMs = Math.floor(rules.maxDuration * 1000);
  const lagMs = Math.round(maxLag * 1000);
  const cues: Cue[] = [];
  let previousEnd = 0;
  for (let k = 0; k < drafts.length; k++) {
    const draft = drafts[k];
    const nextStart = k + 1 < drafts.length ? drafts[k + 1].start : Infinity;
    const start = Math.max(draft.start, previousEnd);
    const readingMs = Math.ceil(draft.chars * 1000 / rules.maxCharsPerSecond);
    const needed = Math.min(Math.max(minMs, readingMs), maxMs);
    // The speech itself ends at draft.end, but a sloppy engine's last word may run into the next
    // cue's speech; the next cue's start matters more than that tail.
    let end = Math.max(Math.min(draft.end, nextStart), start + needed);
    end = Math.min(end, start + maxMs, nextStart + lagMs);
    end = Math.max(end, start + minMs);
    cues.push({
      start: start / 1000,
      end: end / 1000,
      lines: draft.lines,
      ...(draft.speaker !== undefined ? { speaker: draft.speaker } : {}),
    });
    previousEnd = end;
  }
  return cues;
}

/**
 * Lists every caption rule the cues break (empty when they obey all of them). Used by the
 * tests and by the benchmark to report caption quality. Times are compared in milliseconds,
 * the precision of SRT and WebVTT.
 */
export function checkCaptionRules(
  cues: Cue[],
  rules: CaptionRules = CAPTION_RULES,
): CaptionViolation[] {
  const violations: CaptionViolation[] = [];
  const minMs = Math.ceil(rules.minDuration * 1000);
  const maxMs = Math.floor(rules.maxDuration * 1000);
  cues.forEach((cue, index) => {
    const report = (rule: CaptionViolation["rule"], detail: string) =>
      violations.push({ cue: index, rule, detail });
    const startMs = Math.round(cue.start * 1000);
    const endMs = Math.round(cue.end * 1000);
    const durationMs = endMs - startMs;
    if (cue.lines.length === 0 || cue.lines.some((line) => line.trim().length === 0)) {
      report("empty", "cue has no text or an empty line");
    }
    if (cue.lines.length > rules.maxLines) {
      report("line-count", `${cue.lines.length} lines > ${rules.maxLines}`);
    }
    let chars = 0;
    for (const line of cue.lines) {
      const length = countChars(line);
      chars += length;
      if (length > rules.maxLineChars) {
        report("line-length", `${length} characters > ${rules.maxLineChars}: ${line}`);
      }
      if (/[\r\n]/.test(line)) report("line-count", "line contains a line break");
    }
    if (durationMs < minMs) report("min-duration", `${durationMs} ms < ${minMs} ms`);
    if (durationMs > maxMs) report("max-duration", `${durationMs} ms > ${maxMs} ms`);
    if (durationMs > 0 && chars * 1000 / durationMs > rules.maxCharsPerSecond + 1e-9) {
      const rate = (chars * 1000 / durationMs).toFixed(1);
      report("reading-speed", `${rate} characters/s > ${rules.maxCharsPerSecond}`);
    }
    const next = cues[index + 1];
    if (next && Math.round(next.start * 1000) < endMs) {
      report("overlap", `ends at ${cue.end} s after the next cue starts at ${next.start} s`);
    }
  });
  return violations;
}

/** HH:MM:SS<separator>mmm; hours grow past two digits rather than wrapping. */
function formatTimestamp(seconds: number, separator: "," | "."): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const ms = totalMs % 1000;
  const totalSeconds = Math.floor(totalMs / 1000);
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${
    pad(totalSeconds % 60)
  }${separator}${pad(ms, 3)}`;
}

/**
 * SubRip (.srt). SRT has no escaping, so text is written as spoken, except that any run of two
 * or more dashes before ">" (which a parser would take for a timing arrow) becomes "->". The
 * whole run is replaced in one match, so no arrow can re-form from what is left ("--->" once
 * became "-->" under a single replaceAll pass). Speakers are not written: SRT has no
 * place for them and a prefix would break the line-length rule; WebVTT and JSON carry them.
 */
export function renderSrt(cues: Cue[]): string {
  return cues.map((cue, index) => {
    const timing = `${formatTimestamp(cue.start, ",")} --> ${formatTimestamp(cue.end, ",")}`;
    const text = cue.lines.map((line) => line.replace(/-{2,}>/g, "->")).join("\n");
    return `${index + 1}\n${timing}\n${text}\n`;
  }).join("\n");
}

function escapeVtt(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** WebVTT (.vtt) with a `<v Speaker>` voice tag on cues whose speaker is known. */
export function renderWebVtt(cues: Cue[]): string {
  const blocks = cues.map((cue) => {
    const timing = `${formatTimestamp(cue.start, ".")} --> ${formatTimestamp(cue.end, ".")}`;
    const speaker = cue.speaker?.replace(/\s+/g, " ").trim();
    const voice = speaker ? `<v ${escapeVtt(speaker)}>` : "";
    return `${timing}\n${voice}${cue.lines.map(escapeVtt).join("\n")}\n`;
  });
  return ["WEBVTT\n", ...blocks].join("\n");
}

const toMs = (seconds: number) => Math.round(seconds * 1000) / 1000;

/**
 * The transcript (and cues, if given) as a {@link CaptionDocument} JSON string; with `rules`,
 * the rules and the cues that break them are recorded too.
 */
export function renderJson(
  transcript: Transcript,
  cues?: Cue[],
  rules?: CaptionRules & { preset?: string },
): string {
  const talk = new Map<string, number>();
  for (const segment of transcript.segments) {
    if (segment.speaker === undefined) continue;
    const seconds = Math.max(0, segment.end - segment.start);
    talk.set(segment.speaker, (talk.get(segment.speaker) ?? 0) + seconds);
  }
  const document: CaptionDocument = {
    format: "ai-subs.transcript",
    version: 1,
    language: transcript.language,
    ...(transcript.duration !== undefined ? { duration: toMs(transcript.duration) } : {}),
    speakers: [...talk].map(([name, seconds]) => ({ name, speakingSeconds: toMs(seconds) })),
    segments: transcript.segments.map((segment) => ({
      start: toMs(segment.start),
      end: toMs(segment.end),
      text: segment.text,
      ...(segment.speaker !== undefined ? { speaker: segment.speaker } : {}),
      ...(segment.words && segment.words.length > 0
        ? {
          words: segment.words.map((word) => ({
            text: word.text.trim(),
            start: toMs(word.start),
            end: toMs(word.end),
          })),
        }
        : {}),
    })),
    ...(cues
      ? {
        cues: cues.map((cue) => ({
          start: toMs(cue.start),
          end: toMs(cue.end),
          lines: cue.lines,
          ...(cue.speaker !== undefined ? { speaker: cue.speaker } : {}),
        })),
      }
      : {}),
    ...(cues && rules ? { rules: { ...rules }, violations: checkCaptionRules(cues, rules) } : {}),
  };
  return JSON.stringify(document);
}

/**
 * A job's `caption_style` as stored by `private.normalize_options` (snake case, every number
 * filled in from the preset and the caller's overrides).
 */
export const CaptionStyle = z.object({
  preset: z.string().optional(),
  max_line_chars: z.number().int().min(20).max(80),
  max_lines: z.number().int().min(1).max(3),
  max_chars_per_second: z.number().min(5).max(40),
  min_duration: z.number().min(0.5).max(3).optional(),
  max_duration: z.number().min(2).max(10).optional(),
});
export type CaptionStyle = z.infer<typeof CaptionStyle>;

/** The caption rules of a stored style (missing or invalid: the default rules). */
export function rulesOfStyle(style: unknown): CaptionRules {
  const parsed = CaptionStyle.safeParse(style);
  if (!parsed.success) return { ...CAPTION_RULES };
  const s = parsed.data;
  return {
    maxLineChars: s.max_line_chars,
    maxLines: s.max_lines,
    maxCharsPerSecond: s.max_chars_per_second,
    minDuration: s.min_duration ?? CAPTION_RULES.minDuration,
    maxDuration: s.max_duration ?? CAPTION_RULES.maxDuration,
  };
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** XML 1.0 allows only these characters; anything else (control bytes) is dropped. */
function xmlText(text: string): string {
  // deno-lint-ignore no-control-regex
  return escapeXml(text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, ""));
}

/**
 * TTML in the IMSC 1.1 Text profile (the format Netflix asks for): one `<p>` per cue with
 * `<br/>` between lines, media time base, clock-time expressions, a bottom-centred region, and
 * speakers declared as `ttm:agent`s referenced from their cues.
 */
export function renderTtml(cues: Cue[], language: string): string {
  const agents = new Map<string, string>();
  for (const cue of cues) {
    const name = cue.speaker?.replace(/\s+/g, " ").trim();
    if (name && !agents.has(name)) agents.set(name, `speaker${agents.size + 1}`);
  }
  const time = (seconds: number) => formatTimestamp(seconds, ".");
  const agentXml = [...agents].map(([name, id]) =>
    `      <ttm:agent xml:id="${id}" type="person"><ttm:name type="full">${
      xmlText(name)
    }</ttm:name></ttm:agent>`
  );
  const paragraphs = cues.map((cue, index) => {
    const name = cue.speaker?.replace(/\s+/g, " ").trim();
    const agent = name ? ` ttm:agent="${agents.get(name)}"` : "";
    return `      <p xml:id="c${index + 1}" begin="${time(cue.start)}" end="${
      time(cue.end)
    }"${agent}>${cue.lines.map(xmlText).join("<br/>")}</p>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"',
    '  xmlns:tts="http://www.w3.org/ns/ttml#styling" xmlns:ttm="http://www.w3.org/ns/ttml#metadata"',
    '  ttp:contentProfiles="http://www.w3.org/ns/ttml/profile/imsc1.1/text"',
    `  ttp:timeBase="media" xml:lang="${escapeXml(language)}">`,
    "  <head>",
    ...(agentXml.length ? ["    <metadata>", ...agentXml, "    </metadata>"] : []),
    "    <styling>",
    '      <style xml:id="base" tts:textAlign="center" tts:fontFamily="proportionalSansSerif"' +
    ' tts:color="white" tts:backgroundColor="rgba(0,0,0,0.8)"/>',
    "    </styling>",
    "    <layout>",
    '      <region xml:id="bottom" tts:origin="10% 10%" tts:extent="80% 80%"' +
    ' tts:displayAlign="after"/>',
    "    </layout>",
    "  </head>",
    '  <body region="bottom" style="base">',
    "    <div>",
    ...paragraphs,
    "    </div>",
    "  </body>",
    "</tt>",
    "",
  ].join("\n");
}

/**
 * Plain text: one paragraph per transcript segment, `[HH:MM:SS.mmm] Speaker: text`, so a
 * reader can find a passage in the recording.
 */
export function renderText(transcript: Transcript): string {
  return transcript.segments
    .filter((segment) => segment.text.trim().length > 0)
    .map((segment) => {
      const speaker = segment.speaker?.replace(/\s+/g, " ").trim();
      const text = segment.text.replace(/\s+/g, " ").trim();
      return `[${formatTimestamp(segment.start, ".")}] ${speaker ? `${speaker}: ` : ""}${text}\n`;
    })
    .join("");
}
