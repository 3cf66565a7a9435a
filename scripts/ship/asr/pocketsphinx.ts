/**
 * PocketSphinx through Debian's `pocketsphinx_batch`: each piece is decoded as one whole
 * utterance (batch CMN over the piece, no voice-activity detection), and one process decodes a
 * whole list of pieces so the 0.4 s model load is paid once per core rather than once per piece.
 */
import { isSilent, type Piece, SAMPLE_RATE } from "./pieces.ts";

/** One recognized word, times in seconds from the start of the whole audio. */
export interface RecognizedWord {
  word: string;
  start: number;
  end: number;
  /** Natural-log language-model probability the decoder gave this word. */
  logprob: number;
}

const MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";

/** The US English model from Debian's pocketsphinx-en-us package. */
export const MODEL_ARGS = [
  ["-hmm", `${MODEL_DIR}/en-us`],
  ["-lm", `${MODEL_DIR}/en-us.lm.bin`],
  ["-dict", `${MODEL_DIR}/cmudict-en-us.dict`],
].flat();

/** Language weight; the decoder's own default, kept explicit because logprob divides by it. */
const LANGUAGE_WEIGHT = 6.5;

/**
 * Decoder settings. `-remove_silence no` keeps every frame: the built-in voice-activity
 * detector drops frames, which both loses words and shifts the frame clock the timings use.
 */
export const DECODER_ARGS = [
  ["-remove_silence", "no"],
  ["-lw", String(LANGUAGE_WEIGHT)],
].flat();

/** The decoder reports times in frames of 10 ms. */
const FRAMES_PER_SECOND = 100;
/**
 * Natural log per unit of a `-hypseg` score: scores are logarithms in base 1.0001, printed
 * shifted right by 10 bits (the decoder's score shift).
 */
const LN_PER_SCORE_UNIT = Math.log(1.0001) * 1024;
/** Sounds the model knows that are not words: sentence marks, pauses, noise. */
const FILLER = /^(<s>|<\/s>|<sil>|\[[A-Z]+\]|\+\+.*\+\+)$/;

/**
 * Recognizes each piece of `pcm` (16 kHz mono) and returns its words shifted by the piece's
 * offset, one list per piece in the order given. Pieces are spread over up to `concurrency`
 * decoder processes; silent pieces are not decoded at all.
 */
export async function recognizePieces(
  pcm: Int16Array,
  pieces: Piece[],
  options: { concurrency?: number; extraArgs?: string[] } = {},
): Promise<RecognizedWord[][]> {
  const results: RecognizedWord[][] = pieces.map(() => []);
  const audible = pieces
    .map((piece, index) => ({ piece, index }))
    .filter(({ piece }) => !isSilent(pcm.subarray(piece.start, piece.end)));
  if (audible.length === 0) return results;

  const dir = await Deno.makeTempDir({ prefix: "asr-pieces-" });
  try {
    for (const { piece, index } of audible) {
      const bytes = pcm.subarray(piece.start, piece.end);
      await Deno.writeFile(
        `${dir}/${pieceName(index)}.raw`,
        new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
    }
    const groups = balance(audible, options.concurrency ?? navigator.hardwareConcurrency);
    await Promise.all(groups.map(async (group, g) => {
      const decoded = await decoderSlots.run(() =>
        decodeGroup(dir, `group-${g}`, group.map((p) => pieceName(p.index)), options.extraArgs)
      );
      for (const { index, piece } of group) {
        const offset = piece.start / SAMPLE_RATE;
        results[index] = (decoded.get(pieceName(index)) ?? []).map((word) => ({
          ...word,
          start: round(word.start + offset),
          end: round(word.end + offset),
        }));
      }
    }));
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function decodeGroup(
  dir: string,
  group: string,
  names: string[],
  extraArgs: string[] = [],
): Promise<Map<string, RecognizedWord[]>> {
  const ctl = `${dir}/${group}.ctl`;
  const hypseg = `${dir}/${group}.hypseg`;
  const log = `${dir}/${group}.log`;
  await Deno.writeTextFile(ctl, names.join("\n") + "\n");
  const { success, stderr } = await new Deno.Command("pocketsphinx_batch", {
    args: [
      ["-adcin", "yes", "-cepdir", dir, "-cepext", ".raw", "-ctl", ctl],
      ["-hypseg", hypseg, "-logfn", log],
      MODEL_ARGS,
      DECODER_ARGS,
      extraArgs,
    ].flat(),
    stdin: "null",
    stdout: "null",
  }).output();
  if (!success) {
    // Argument errors come before -logfn takes effect, decoding errors after: show both.
    const logged = await Deno.readTextFile(log).catch(() => "");
    const tail = (new TextDecoder().decode(stderr) + logged).trim().split("\n").slice(-5);
    throw new Error(`pocketsphinx_batch failed:\n${tail.join("\n")}`);
  }
  return parseHypseg(await Deno.readTextFile(hypseg));
}

/**
 * Reads `-hypseg` output: per utterance `id S scale T total A acoustic L lm`, then for each entry
 * `startFrame acousticScore lmScore word`, and the end frame last. An entry ends where the next
 * begins; fillers and the "(2)" alternate-pronunciation marks are dropped.
 */
export function parseHypseg(text: string): Map<string, RecognizedWord[]> {
  const byPiece = new Map<string, RecognizedWord[]>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 9) continue;
    const entries = fields.slice(9);
    const words: RecognizedWord[] = [];
    for (let i = 0; i + 4 < entries.length; i += 4) {
      const word = entries[i + 3].replace(/\(\d+\)$/, "");
      if (FILLER.test(word)) continue;
      words.push({
        word: word.toLowerCase(),
        start: Number(entries[i]) / FRAMES_PER_SECOND,
        end: Number(entries[i + 4]) / FRAMES_PER_SECOND,
        logprob: (Number(entries[i + 2]) / LANGUAGE_WEIGHT) * LN_PER_SCORE_UNIT,
      });
    }
    byPiece.set(fields[0], words);
  }
  return byPiece;
}

function pieceName(index: number): string {
  return `piece-${String(index).padStart(5, "0")}`;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** Deals pieces into `count` lists of about equal audio length, longest piece first. */
function balance<T extends { piece: Piece }>(items: T[], count: number): T[][] {
  const groups = Array.from({ length: Math.max(1, Math.min(count, items.length)) }, () => ({
    length: 0,
    items: [] as T[],
  }));
  const longestFirst = [...items].sort((a, b) => length(b.piece) - length(a.piece));
  for (const item of longestFirst) {
    const lightest = groups.reduce((min, g) => (g.length < min.length ? g : min));
    lightest.items.push(item);
    lightest.length += length(item.piece);
  }
  return groups.map((g) => g.items);
}

function length(piece: Piece): number {
  return piece.end - piece.start;
}

/**
 * Decoder processes across all requests share the cores: two uploads at once queue for slots
 * instead of running twice as many processes at half speed each.
 */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(count: number) {
    this.#free = count;
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const decoderSlots = new Slots(navigator.hardwareConcurrency);
