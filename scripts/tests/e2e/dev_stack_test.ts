/**
 * Running the tests or the benchmarks never breaks a running `deno task dev`: a dev stack of its
 * own (a fresh directory; the ports of the stack under test + 10) is started, web/dist is built
 * the way the test command and the bench build it (scripts/ship/web_build.ts), and the dev page
 * still signs in, as does the page of the stack this suite runs against. One build serves both:
 * each gateway serves its own config.json (scripts/stack/gateway/static.ts) and no key is in the
 * JavaScript. Before, each build baked in one stack's key and the other page answered "Could
 * not sign in: Invalid API key".
 */
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { start, stop } from "../../stack/cli.ts";
import { stackConfig } from "../../stack/config.ts";
import { buildWeb } from "../../ship/web_build.ts";
import { launchChromium } from "../support/browser.ts";
import { stackEnv } from "../support/stack_env.ts";

/** Opens `url` in a fresh context and returns the signed-in user id, or why there is none. */
async function signIn(browser: Browser, url: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector("body[data-user]", { timeout: 30_000 }).catch(async () => {
      throw new Error(`${url}: no sign-in: ${await page.textContent("#session")}`);
    });
    return (await page.getAttribute("body", "data-user"))!;
  } finally {
    await context.close();
  }
}

Deno.test("a dev stack's page still signs in after the test command's web build", async () => {
  const tested = stackConfig();
  const dir = await Deno.makeTempDir({ prefix: "dev-stack-" });
  const dev = stackConfig({
    ...Deno.env.toObject(),
    STACK_DIR: dir,
    STACK_API_PORT: String(tested.apiPort + 10),
    STACK_DB_PORT: String(tested.dbPort + 10),
    STACK_ASR_PORT: String(tested.asrPort + 10),
    STACK_EXTRA_FUNCTIONS: "",
    STACK_FUNCTION_WALL_CLOCK_OVERRIDES: "",
    STACK_LEGACY_KEYS: "0",
  });
  const devUrl = `http://127.0.0.1:${dev.apiPort}`;
  let browser: Browser | null = null;
  try {
    await start(dev);
    // The two stacks are two projects: different keys, each served as the page's config.
    const [devConfig, testedConfig] = await Promise.all(
      [devUrl, stackEnv().SUPABASE_URL].map(async (url) =>
        await (await fetch(`${url}/config.json`)).json()
      ),
    );
    assert.notEqual(devConfig.publishableKey, testedConfig.publishableKey);
    assert.equal(testedConfig.publishableKey, stackEnv().SUPABASE_PUBLISHABLE_KEY);

    // What scripts/test.ts does before the browser tests, and scripts/bench/browser.ts too.
    await buildWeb();

    browser = await launchChromium();
    const devUser = await signIn(browser, devUrl);
    const testedUser = await signIn(browser, stackEnv().SUPABASE_URL);
    assert.match(devUser, /^[0-9a-f-]{36}$/);
    assert.match(testedUser, /^[0-9a-f-]{36}$/);
  } finally {
    await browser?.close();
    await stop(dev).catch((e) => console.error(`stopping the dev stack: ${e}`));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
