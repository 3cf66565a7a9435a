/**
 * The sandbox an Edge Function's process runs in on the local stack: the permissions Supabase's
 * Edge Runtime grants a user worker, as Deno flags, and nothing more.
 *
 * The Edge Runtime gives a user worker network, env, imports and the `hostname` system call, and
 * neither subprocesses nor FFI (supabase/edge-runtime, `crates/base/src/runtime/permissions.rs`,
 * `get_default_permissions`); its file system is the function's bundle, read-only, plus a
 * writable /tmp of its own (`crates/base/src/runtime/mod.rs`: a `StaticFs` of the bundle under a
 * `PrefixFs` that maps /tmp to a fresh `TmpFs`). So a function here gets:
 *
 * - `--allow-net`, `--allow-env`, `--allow-import`, `--allow-sys=hostname`;
 * - read access to its bundle's folders, to Deno's npm cache (where its npm packages live: some
 *   read their own files at run time; hosted, they sit in the bundle) and to /tmp;
 * - write access to /tmp only;
 * - `--deny-run --deny-ffi`, and `--no-prompt`, so anything else fails at once (NotCapable)
 *   instead of asking on a terminal.
 *
 * Its env is exactly what the gateway hands it (the process starts with a cleared environment),
 * plus what Deno itself needs to find its cache ({@link sandboxEnv}).
 *
 * Each function resolves its imports with the import map it was deployed with (its own
 * deno.json), never the repository's root deno.json, and runs with `--no-lock`: the root
 * deno.lock describes the root's module graph and is refused as out of date under another
 * config (`--frozen`), and a lock Deno wrote itself would land in the function's read-only
 * bundle. Versions are still pinned: every map names exact versions (scripts/ship/function_imports.ts).
 */
import { join } from "node:path";

/** What a function was deployed as: where its files are and how its imports resolve. */
export interface FunctionBundle {
  /** Folders holding the bundle: the function's folder first, then what its imports reach. */
  dirs: string[];
  /** The module the function starts from (absolute path). */
  entrypoint: string;
  /** Its import map: a deno.json / deno.jsonc, or a plain import map; null for none. */
  importMap: string | null;
}

/** Where the runtime's own files are, shared by every function of the stack. */
export interface SandboxRuntime {
  /** Deno's cache folder (DENO_DIR): modules, and the npm packages in `npmCache`. */
  denoDir: string;
  /** Deno's npm cache (`deno info --json` → npmCache). */
  npmCache: string;
}

/**
 * Where each function process gets a temp folder of its own (its TMPDIR, the only place it may
 * write): hosted, a worker's /tmp is private to it; here the machine's /tmp is shared (and may
 * even hold the repository and the stack, as in a CI checkout under /tmp), so only the process's
 * own folder is granted.
 */
export const TMP = "/tmp";

/**
 * Env vars of Deno itself that decide how it downloads npm packages on a function's first start
 * (a registry mirror, a proxy, certificates): passed through when the stack has them.
 */
const DOWNLOAD_ENV = [
  "NPM_CONFIG_REGISTRY",
  "DENO_AUTH_TOKENS",
  "DENO_CERT",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
];

/** Deno's folders, as `deno info --json` reports them for the Deno that runs the stack. */
export async function sandboxRuntime(): Promise<SandboxRuntime> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("deno info --json failed");
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return { denoDir: info.denoDir, npmCache: info.npmCache };
}

/**
 * A function's bundle while functions are served from their source folders: its folder and the
 * shared folder beside it (`_shared`, where `supabase functions deploy` finds what the function
 * imports), with the function folder's own deno.json, deno.jsonc or import_map.json as its map —
 * the CLI's order (scripts/ship/function_imports.ts).
 */
export async function sourceBundle(functionsDir: string, name: string): Promise<FunctionBundle> {
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  const dir = join(functionsDir, name);
  const shared = join(functionsDir, "_shared");
  let importMap: string | null = null;
  for (const file of ["deno.json", "deno.jsonc", "import_map.json"]) {
    if (await exists(join(dir, file))) {
      importMap = join(dir, file);
      break;
    }
  }
  return {
    dirs: (await exists(shared)) ? [dir, shared] : [dir],
    entrypoint: join(dir, "index.ts"),
    importMap,
  };
}

/**
 * The arguments of `deno` that run `program` (the limits host and its arguments) for a function
 * in its sandbox. `v8Flags` go to V8 (the memory guard's heap limit).
 */
export function sandboxArgs(
  bundle: FunctionBundle,
  runtime: SandboxRuntime,
  program: string[],
  v8Flags: string[] = [],
  tmpDir: string = TMP,
): string[] {
  const readable = [...bundle.dirs, runtime.npmCache, tmpDir];
  // Deno separates the paths of a permission flag with commas.
  const unsafe = readable.find((path) => path.includes(","));
  if (unsafe) throw new Error(`a sandbox path may not contain a comma: ${unsafe}`);
  const map = bundle.importMap;
  const config = map === null
    ? ["--no-config"]
    : /deno\.jsonc?$/.test(map)
    ? ["--config", map]
    : ["--no-config", "--import-map", map];
  return [
    "run",
    "--no-prompt",
    "--no-lock",
    ...config,
    "--allow-net",
    "--allow-env",
    "--allow-import",
    "--allow-sys=hostname",
    `--allow-read=${readable.join(",")}`,
    `--allow-write=${tmpDir}`,
    "--deny-run",
    "--deny-ffi",
    ...(v8Flags.length ? [`--v8-flags=${v8Flags.join(",")}`] : []),
    ...program,
  ];
}

/**
 * The env a function's process starts with besides the function's own vars: Deno's cache folder
 * (the process has no HOME to find it by), a private temp folder for `Deno.makeTempFile` and
 * friends (hosted, each worker's /tmp is its own), and Deno's download settings.
 */
export function sandboxEnv(runtime: SandboxRuntime, tmpDir: string): Record<string, string> {
  const env: Record<string, string> = { DENO_DIR: runtime.denoDir, TMPDIR: tmpDir };
  for (const name of DOWNLOAD_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
