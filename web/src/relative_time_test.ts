import assert from "node:assert/strict";
import { relativeTime } from "./relative_time.ts";

const now = Date.parse("2026-01-10T12:00:00Z");
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

Deno.test("relative times read like the seed's cards", () => {
  assert.equal(relativeTime(ago(10), now), "just now");
  assert.equal(relativeTime(ago(90), now), "2 minutes ago");
  assert.equal(relativeTime(ago(60), now), "1 minute ago");
  assert.equal(relativeTime(ago(2 * 3600), now), "2 hours ago");
  assert.equal(relativeTime(ago(26 * 3600), now), "yesterday");
  assert.equal(relativeTime(ago(3 * 86400), now), "3 days ago");
  assert.equal(relativeTime(ago(15 * 86400), now), "2 weeks ago");
  assert.equal(relativeTime(ago(-300), now), "in 5 minutes");
});
