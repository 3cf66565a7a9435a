/** config.json beside index.html: where it is looked for, what it must hold, what users read. */
import assert from "node:assert/strict";
import { loadAppConfig } from "./app_config.ts";

const KEY = "sb_publishable_abcdefghijklmnopqrstuv_12345678";

function serving(body: unknown, status = 200) {
  const asked: string[] = [];
  const fetchFile = ((url: URL) => {
    asked.push(String(url));
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  }) as typeof fetch;
  return { fetchFile, asked };
}

Deno.test("config.json is read beside the page, in any folder, whatever the route", async () => {
  const site = serving({ supabaseUrl: "https://abc.supabase.co", publishableKey: KEY });
  await loadAppConfig("https://example.org/tools/subs/?job=1#token=x", site.fetchFile);
  await loadAppConfig("https://example.org/tools/subs/index.html", site.fetchFile);
  assert.deepEqual(site.asked, [
    "https://example.org/tools/subs/config.json",
    "https://example.org/tools/subs/config.json",
  ]);
});

Deno.test("without supabaseUrl the page talks to the origin that served it (a local stack)", async () => {
  const stack = serving({ publishableKey: KEY });
  const config = await loadAppConfig("http://127.0.0.1:54321/", stack.fetchFile);
  assert.deepEqual(config, { supabaseUrl: "http://127.0.0.1:54321", publishableKey: KEY });
  const hosted = serving({
    supabaseUrl: "https://abc.supabase.co",
    publishableKey: KEY,
    captcha: { provider: "turnstile", siteKey: "0x4AAA" },
  });
  const withCaptcha = await loadAppConfig("https://example.org/", hosted.fetchFile);
  assert.equal(withCaptcha.supabaseUrl, "https://abc.supabase.co");
  assert.deepEqual(withCaptcha.captcha, { provider: "turnstile", siteKey: "0x4AAA" });
});

Deno.test("a missing or wrong config.json is explained, naming what is wrong", async () => {
  await assert.rejects(
    loadAppConfig("https://example.org/", serving("not found", 404).fetchFile),
    /no config\.json beside index\.html \(HTTP 404\)/,
  );
  await assert.rejects(
    loadAppConfig("https://example.org/", serving({ supabaseUrl: "nope" }).fetchFile),
    /config\.json is not valid \(supabaseUrl, publishableKey\)/,
  );
  const offline = (() => Promise.reject(new TypeError("network"))) as typeof fetch;
  await assert.rejects(loadAppConfig("https://example.org/", offline), /Could not reach/);
});
