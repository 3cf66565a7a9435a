/**
 * Where this repository is, and where a local stack keeps its state. Neutral ground: what ships
 * (the CLI, deploy) and the emulator both need it, and neither imports the other.
 */
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, without a trailing slash. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/**
 * The local stack's state directory: STACK_DIR (relative to the working directory) when set,
 * else `.stack` in the repository. Its `env` file is how clients find that stack.
 */
export function localStackDir(env: Record<string, string | undefined> = Deno.env.toObject()) {
  return env.STACK_DIR ? absolutePath(env.STACK_DIR) : join(repoRoot, ".stack");
}

/** `path` resolved against the working directory. */
export function absolutePath(path: string): string {
  return isAbsolute(path) ? path : join(Deno.cwd(), path);
}
