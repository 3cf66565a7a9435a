/**
 * Where the local stack lives and which ports it uses. Every stack command and test reads this,
 * so several stacks can run side by side (STACK_DIR, STACK_API_PORT, STACK_DB_PORT).
 */
import { fromFileUrl, join } from "./paths.ts";

export interface StackConfig {
  /** Repository root. */
  root: string;
  /** State directory (git-ignored): cluster, storage files, logs, pid files, env. */
  dir: string;
  apiPort: number;
  dbPort: number;
  /** Port of the offline transcription server the stack starts. */
  asrPort: number;
  /** Wall-clock limit of one Edge Function request, in seconds (hosted: 150 free, 400 paid). */
  functionWallClockSeconds: number;
  /** Per-function wall-clock limits (tests use a short one to prove the kill). */
  functionWallClockOverrides: Record<string, number>;
  /** More folders of functions to serve beside supabase/functions (test-only functions). */
  extraFunctionDirs: string[];
  /**
   * The legacy JWT-based keys (HS256 `anon` / `service_role` and the JWT secret) are trusted,
   * as on a project created before publishable/secret keys. Off unless STACK_LEGACY_KEYS=1.
   */
  legacyKeys: boolean;
  pgBin: string;
}

export const repoRoot = fromFileUrl(new URL("../../", import.meta.url)).replace(/\/$/, "");

export function stackConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): StackConfig {
  const dir = env.STACK_DIR ? absolute(env.STACK_DIR) : join(repoRoot, ".stack");
  const apiPort = Number(env.STACK_API_PORT ?? 54321);
  return {
    root: repoRoot,
    dir,
    apiPort,
    dbPort: Number(env.STACK_DB_PORT ?? 54322),
    asrPort: Number(env.STACK_ASR_PORT ?? apiPort + 8),
    functionWallClockSeconds: Number(env.STACK_FUNCTION_WALL_CLOCK_S ?? 150),
    functionWallClockOverrides: Object.fromEntries(
      (env.STACK_FUNCTION_WALL_CLOCK_OVERRIDES ?? "").split(",").filter((p) => p.includes("="))
        .map((p) => [p.split("=")[0].trim(), Number(p.split("=")[1])]),
    ),
    extraFunctionDirs: (env.STACK_EXTRA_FUNCTIONS ?? "").split(":").filter(Boolean).map(absolute),
    legacyKeys: env.STACK_LEGACY_KEYS === "1",
    pgBin: env.STACK_PG_BIN ?? "/usr/lib/postgresql/15/bin",
  };
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : join(Deno.cwd(), path);
}
