/**
 * `deno task dev` — the whole product locally: builds the web app, starts the stack (which
 * serves it at /), and prints where to open it. No API key needed: transcription runs on the
 * offline engine unless supabase/functions/.env names a provider.
 */
import { capForOfflineEngine } from "./ship/asr/capacity.ts";
import { start } from "./stack/cli.ts";
import { stackConfig } from "./stack/config.ts";
import { readEnvFile } from "./lib/env_file.ts";
import { join } from "node:path";
import { dbUrl } from "./stack/postgres.ts";
import { buildWeb } from "./ship/web_build.ts";

const config = stackConfig();
// The gateway serves web/dist from disk, and its own config.json (the stack's publishable key).
await start(config);
// The offline engine takes one chunk at a time (scripts/ship/asr/capacity.ts).
await capForOfflineEngine(
  dbUrl(config),
  readEnvFile(join(config.root, "supabase/functions/.env")) ?? {},
);
await buildWeb(config.root);
console.log(`\nAI-Subs is running: open http://127.0.0.1:${config.apiPort}/`);
console.log("Stop it with: deno task stack stop");
