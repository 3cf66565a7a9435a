/**
 * Where the local stack lives and which ports it uses. Every stack command and test reads this,
 * so several stacks can run side by side (STACK_DIR, STACK_API_PORT, STACK_DB_PORT).
 */
import {
  FUNCTION_CPU_MS,
  FUNCTION_MEMORY_BYTES,
  FUNCTION_WALL_CLOCK_S,
} from "../../supabase/functions/_shared/engine/limits.ts";
import { absolutePath, localStackDir, repoRoot } from "../lib/repo.ts";

/** The repository root (scripts/lib/repo.ts); re-exported for the stack's own tooling. */
export { repoRoot };

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
  /** Memory of one invocation in MB (limits.ts; STACK_FUNCTION_MEMORY_MB). */
  functionMemoryMb: number;
  /** CPU time of one request in ms (limits.ts; STACK_FUNCTION_CPU_MS). */
  functionCpuMs: number;
  /** Kill a request over its CPU time (STACK_FUNCTION_CPU_ENFORCE=0: only warn). */
  functionCpuEnforce: boolean;
  /** Per-function wall-clock limits (tests use a short one to prove the kill). */
  functionWallClockOverrides: Record<string, number>;
  /** More folders of functions to serve beside supabase/functions (test-only functions). */
  extraFunctionDirs: string[];
  /**
   * The legacy JWT-based keys (HS256 `anon` / `service_role` and the JWT secret) are trusted,
   * as on a project created before publishable/secret keys. Off unless STACK_LEGACY_KEYS=1.
   */
  legacyKeys: boolean;
  /**
   * Which migrations `start` pushes: `all` of supabase/migrations, or only the `released` ones
   * (supabase/releases/released.json, STACK_MIGRATIONS=released): a database at the last
   * release, which the upgrade test then upgrades with `supabase db push`.
   */
  migrations: "all" | "released";
  pgBin: string;
}

export function stackConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): StackConfig {
  const dir = localStackDir(env);
  const apiPort = Number(env.STACK_API_PORT ?? 54321);
  return {
    root: repoRoot,
    dir,
    apiPort,
    dbPort: Number(env.STACK_DB_PORT ?? 54322),
    asrPort: Number(env.STACK_ASR_PORT ?? apiPort + 8),
    functionWallClockSeconds: Number(env.STACK_FUNCTION_WALL_CLOCK_S ?? FUNCTION_WALL_CLOCK_S),
    functionMemoryMb: Number(env.STACK_FUNCTION_MEMORY_MB ?? FUNCTION_MEMORY_BYTES / 2 ** 20),
    functionCpuMs: Number(env.STACK_FUNCTION_CPU_MS ?? FUNCTION_CPU_MS),
    functionCpuEnforce: env.STACK_FUNCTION_CPU_ENFORCE !== "0",
    functionWallClockOverrides: Object.fromEntries(
      (env.STACK_FUNCTION_WALL_CLOCK_OVERRIDES ?? "").split(",").filter((p) => p.includes("="))
        .map((p) => [p.split("=")[0].trim(), Number(p.split("=")[1])]),
    ),
    extraFunctionDirs: (env.STACK_EXTRA_FUNCTIONS ?? "").split(":").filter(Boolean).map(
      absolutePath,
    ),
    legacyKeys: env.STACK_LEGACY_KEYS === "1",
    migrations: env.STACK_MIGRATIONS === "released" ? "released" : "all",
    pgBin: env.STACK_PG_BIN ?? "/usr/lib/postgresql/15/bin",
  };
}
