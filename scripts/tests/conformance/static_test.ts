/**
 * Conformance: the web app's static host at `/` (issue 26, finding 11). A path whose
 * percent-encoding is malformed is a client error, 400, as RFC 3986 §2.1 (a "%" must be followed
 * by two hex digits) and RFC 9110 §15.5.1 ("400 (Bad Request) … malformed request syntax")
 * describe; it is never a 500 with the server's stack trace in the body.
 */
import assert from "node:assert/strict";
import { stackEnv } from "../support/stack_env.ts";

Deno.test("static host: malformed percent-encoding is 400 without a stack trace", async () => {
  const base = stackEnv().SUPABASE_URL;
  for (const path of ["/%", "/%zz", "/assets/%E0%A4%A", "/a%", "/%C0%AF"]) {
    const response = await fetch(base + path);
    const body = await response.text();
    assert.equal(response.status, 400, `${path}: ${response.status} ${body.slice(0, 200)}`);
    assert.doesNotMatch(body, /URIError|at .*\.ts:\d+/, `${path}: ${body.slice(0, 200)}`);
  }
  // Encoded traversal is refused too, and a NUL never reaches the file system as a 500.
  for (const path of ["/%2e%2e/%2e%2e/etc/passwd", "/%00", "/index.html%00.js"]) {
    const response = await fetch(base + path);
    await response.body?.cancel();
    assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
  }
});
