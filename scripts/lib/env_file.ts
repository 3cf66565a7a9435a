/**
 * The one parser of `KEY=value` files: the stack's `<stack dir>/env` (what `deno task stack
 * start` writes) and the functions' dotenv files (supabase/functions/.env, functions.env).
 * Blank lines and `#` comments are skipped; a value may be wrapped in matching quotes.
 */
import { join } from "node:path";

export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (m) env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return env;
}

/** The variables of the env file at `path`, or null when it cannot be read (no such file). */
export function readEnvFile(path: string): Record<string, string> | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  return parseEnvFile(text);
}

/** `<stack dir>/env` as an object, or null when that stack was never started. */
export function readStackEnvFile(stackDir: string): Record<string, string> | null {
  return readEnvFile(join(stackDir, "env"));
}
