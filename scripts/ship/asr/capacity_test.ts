import assert from "node:assert/strict";
import { stepCapsFor, usesOfflineEngine } from "./capacity.ts";

Deno.test("the offline engine is the default and anything else is a provider", () => {
  assert.equal(usesOfflineEngine({}), true);
  assert.equal(usesOfflineEngine({ TRANSCRIBE_PROVIDER: " offline " }), true);
  assert.equal(usesOfflineEngine({ TRANSCRIBE_PROVIDER: "openai" }), false);
});

Deno.test("one transcribe task at a time with the offline engine, other caps kept", () => {
  assert.deepEqual(stepCapsFor({ render: 2 }, true), { render: 2, transcribe: 1 });
  assert.deepEqual(stepCapsFor({ transcribe: 1, render: 2 }, false), { render: 2 });
  assert.deepEqual(stepCapsFor({ transcribe: 3 }, true), { transcribe: 1 });
});
