import assert from "node:assert/strict";
import { KeyedThrottle } from "./throttle.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("throttle: a burst runs once at once and once, with the latest call, at the end", async () => {
  const throttle = new KeyedThrottle(80);
  const seen: string[] = [];
  throttle.call("job", () => seen.push("first"));
  throttle.call("job", () => seen.push("second"));
  throttle.call("job", () => seen.push("third"));
  assert.deepEqual(seen, ["first"]);
  await sleep(150);
  assert.deepEqual(seen, ["first", "third"], "the last state of the burst was lost");
  await sleep(100);
  assert.deepEqual(seen, ["first", "third"], "a deferred call ran twice");
});

Deno.test("throttle: keys are independent, and a quiet key runs at once", async () => {
  const throttle = new KeyedThrottle(60);
  const seen: string[] = [];
  throttle.call("a", () => seen.push("a1"));
  throttle.call("b", () => seen.push("b1"));
  assert.deepEqual(seen, ["a1", "b1"]);
  await sleep(100);
  throttle.call("a", () => seen.push("a2"));
  assert.deepEqual(seen, ["a1", "b1", "a2"]);
});

Deno.test("throttle: a dropped key's deferred call never runs", async () => {
  const throttle = new KeyedThrottle(50);
  const seen: string[] = [];
  throttle.call("job", () => seen.push("first"));
  throttle.call("job", () => seen.push("deferred"));
  throttle.drop("job");
  await sleep(100);
  assert.deepEqual(seen, ["first"]);
});
