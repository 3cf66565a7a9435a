/**
 * Word error rate: the Levenshtein distance between two word sequences divided by the number of
 * reference words. Both sides are normalized first (lowercase, punctuation stripped, numbers kept
 * as written), because the offline engine emits lowercase words without punctuation and a
 * capital letter or a comma is not a recognition error.
 */

export interface WordErrorRate {
  /** (substitutions + deletions + insertions) / reference words; 0 when both are empty. */
  wer: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Number of reference words after normalization. */
  words: number;
}

/** Splits text into comparable words: "Don't stop, Mr. Brown-Smith!" -> don't stop mr brown smith. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    // Curly apostrophes count as the straight one so "don’t" equals "don't".
    .replace(/[\u2018\u2019]/g, "'")
    // Keep letters, digits and in-word apostrophes; everything else separates words.
    .replace(/[^\p{L}\p{N}']+/gu, " ")
    .split(" ")
    .map((word) => word.replace(/^'+|'+$/g, ""))
    .filter((word) => word.length > 0);
}

/** Compares a hypothesis against a reference transcript; see {@link WordErrorRate}. */
export function wordErrorRate(reference: string, hypothesis: string): WordErrorRate {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  // cost[j] and ops[j] hold the best alignment of ref[0..i) with hyp[0..j) for the current row.
  type Ops = { s: number; d: number; i: number };
  let previous: Ops[] = Array.from({ length: hyp.length + 1 }, (_, j) => ({ s: 0, d: 0, i: j }));
  for (let i = 1; i <= ref.length; i++) {
    const current: Ops[] = [{ s: 0, d: i, i: 0 }];
    for (let j = 1; j <= hyp.length; j++) {
      const diagonal = previous[j - 1];
      const same = ref[i - 1] === hyp[j - 1];
      const candidates: Ops[] = [
        same ? diagonal : { ...diagonal, s: diagonal.s + 1 },
        { ...previous[j], d: previous[j].d + 1 },
        { ...current[j - 1], i: current[j - 1].i + 1 },
      ];
      current.push(candidates.reduce((best, next) => (total(next) < total(best) ? next : best)));
    }
    previous = current;
  }
  const { s, d, i } = previous[hyp.length];
  const errors = s + d + i;
  return {
    // An empty reference with extra words has no finite rate; Infinity says so plainly.
    wer: ref.length === 0 ? (errors === 0 ? 0 : Infinity) : errors / ref.length,
    substitutions: s,
    deletions: d,
    insertions: i,
    words: ref.length,
  };
}

function total(ops: { s: number; d: number; i: number }): number {
  return ops.s + ops.d + ops.i;
}
