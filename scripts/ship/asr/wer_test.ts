import assert from "node:assert/strict";
import { normalizeWords, wordErrorRate } from "./wer.ts";

Deno.test("normalization drops case and punctuation but keeps numbers and apostrophes", () => {
  assert.deepEqual(normalizeWords("Don’t stop, Mr. Brown-Smith! It's 42."), [
    "don't",
    "stop",
    "mr",
    "brown",
    "smith",
    "it's",
    "42",
  ]);
});

Deno.test("identical text after normalization has no errors", () => {
  assert.deepEqual(wordErrorRate("The cat sat.", "the  CAT sat"), {
    wer: 0,
    substitutions: 0,
    deletions: 0,
    insertions: 0,
    words: 3,
  });
});

Deno.test("one substitution in four words is 25 %", () => {
  assert.deepEqual(wordErrorRate("the cat sat down", "the bat sat down"), {
    wer: 0.25,
    substitutions: 1,
    deletions: 0,
    insertions: 0,
    words: 4,
  });
});

Deno.test("missing and extra words count as deletions and insertions", () => {
  // ref: a b c d e ; hyp: a c d x e -> delete b, insert x: 2 errors / 5 words.
  assert.deepEqual(wordErrorRate("a b c d e", "a c d x e"), {
    wer: 0.4,
    substitutions: 0,
    deletions: 1,
    insertions: 1,
    words: 5,
  });
});

Deno.test("numbers are compared as written", () => {
  // "4" is not "four": one substitution out of three words.
  const result = wordErrorRate("I have four", "i have 4");
  assert.deepEqual(result.substitutions, 1);
  assert.ok(Math.abs(result.wer - 1 / 3) < 1e-9);
});

Deno.test("an empty hypothesis deletes every word and a longer one can exceed 100 %", () => {
  assert.deepEqual(wordErrorRate("one two three", "").deletions, 3);
  assert.deepEqual(wordErrorRate("one two three", "").wer, 1);
  // ref: go ; hyp: no no no -> 1 substitution + 2 insertions = 3 errors / 1 word.
  const result = wordErrorRate("go", "no no no");
  assert.deepEqual([result.substitutions, result.insertions, result.wer], [1, 2, 3]);
});

Deno.test("empty reference: zero when the hypothesis is empty too, infinite otherwise", () => {
  assert.deepEqual(wordErrorRate("", " ... ").wer, 0);
  assert.deepEqual(wordErrorRate("", "hello").wer, Infinity);
});
