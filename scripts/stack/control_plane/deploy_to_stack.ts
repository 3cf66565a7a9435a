/**
 * What `deno task stack start` deploys to its own Management API with the real CLI, as
 * `deno task deploy` does to a hosted project: every function of supabase/functions
 * (`functions deploy --use-api`), the test-only function folders of STACK_EXTRA_FUNCTIONS
 * (each deployed from a project folder of its own made in the stack directory, with that
 * folder's config.toml for verify_jwt), and the functions' secrets (`secrets set`: the
 * offline engine's URL and supabase/functions/.env).
 *
 * Cached by content: a SHA-256 over the files of each source (and config.toml) is kept in
 * `<stack dir>/control_plane/deployed.json`; a source whose digest is unchanged and whose
 * functions are all live is not deployed again, so an unchanged start runs no CLI at all. When
 * supabase/functions changed, only the functions whose live upload differs from the repository
 * are deployed again.
 */
import { basename, join, relative } from "node:path";
import { parse as parseToml } from "smol-toml";
import type { StackConfig } from "../config.ts";
import { parseEnvFile } from "../../lib/env_file.ts";
import { functionNames } from "../../ship/function_imports.ts";
import { sha256Hex } from "../../lib/digest.ts";
import { runCliAgainstStack } from "./access.ts";
import { controlPlaneDir, ControlPlaneStore } from "./store.ts";

/** Every file below `root` (recursively), sorted, with paths relative to it. */
async function filesBelow(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      if (e.name === "node_modules" || e.name === ".temp") continue;
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile) out.push(relative(root, path));
    }
  }
  await walk(root);
  return out.sort();
}

/** SHA-256 over names and contents of the given files and of every file below the folders. */
export async function contentDigest(paths: string[]): Promise<string> {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const path of paths) {
    const stat = await Deno.stat(path).catch(() => null);
    if (!stat) {
      parts.push(enc.encode(`missing ${path}\n`));
      continue;
    }
    const files = stat.isDirectory ? (await filesBelow(path)).map((f) => join(path, f)) : [path];
    for (const file of files) {
      const bytes = await Deno.readFile(file);
      parts.push(enc.encode(`${file}\0${bytes.length}\0`), bytes);
    }
  }
  return await sha256Hex(...parts);
}

async function copyTree(from: string, to: string): Promise<void> {
  for (const file of await filesBelow(from)) {
    await Deno.mkdir(join(to, file, ".."), { recursive: true });
    await Deno.copyFile(join(from, file), join(to, file));
  }
}

/**
 * A Supabase project folder in the stack directory holding one test-only folder of functions
 * as its supabase/functions, with that folder's config.toml (the CLI deploys from a project).
 */
async function extraProject(config: StackConfig, folder: string): Promise<string> {
  const project = join(controlPlaneDir(config.dir), "extra_projects", basename(folder));
  await Deno.remove(project, { recursive: true }).catch(() => {});
  await copyTree(folder, join(project, "supabase", "functions"));
  const settings = await Deno.readTextFile(join(folder, "config.toml")).catch(() => "");
  await Deno.remove(join(project, "supabase", "functions", "config.toml")).catch(() => {});
  await Deno.writeTextFile(
    join(project, "supabase", "config.toml"),
    `project_id = "${basename(folder)}"\n\n${settings}`,
  );
  return project;
}

interface Source {
  key: string;
  /** What the digest covers. */
  inputs: string[];
  functionsDir: string;
  /** The project folder the CLI deploys from. */
  project: () => Promise<string>;
  /** Of these slugs, the ones whose live upload differs from the project (all when absent). */
  changed?: (slugs: string[]) => Promise<string[]>;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]).catch(() => [null, null]);
  return !!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * The slugs of the repository whose live upload is not what the CLI would upload now: not
 * live, verify_jwt changed in config.toml, or a file of the upload (the entrypoint, its import
 * map, everything they import) differs from the repository's copy. A file newly imported shows
 * as a change of the file importing it.
 */
async function changedInRepo(config: StackConfig, slugs: string[]): Promise<string[]> {
  const store = new ControlPlaneStore(config.dir);
  const live = await store.active();
  const toml = parseToml(
    await Deno.readTextFile(join(config.root, "supabase/config.toml")).catch(() => ""),
  ) as { functions?: Record<string, { verify_jwt?: boolean }> };
  const changed: string[] = [];
  for (const slug of slugs) {
    const deployment = live[slug];
    if (!deployment || (toml.functions?.[slug]?.verify_jwt ?? true) !== deployment.verify_jwt) {
      changed.push(slug);
      continue;
    }
    const { bundleDir } = store.resolve(deployment);
    const files = await filesBelow(bundleDir).catch(() => null);
    let same = files !== null;
    for (const file of files ?? []) {
      if (!(same = await sameBytes(join(bundleDir, file), join(config.root, file)))) break;
    }
    if (!same) changed.push(slug);
  }
  return changed;
}

export interface DeployReport {
  /** Sources deployed by the CLI this time (empty: nothing changed). */
  deployed: string[];
  secretsSet: boolean;
}

/** Deploys what changed since the last start; see the module comment. */
export async function deployToStack(config: StackConfig): Promise<DeployReport> {
  const store = new ControlPlaneStore(config.dir);
  const statePath = join(controlPlaneDir(config.dir), "deployed.json");
  const state: Record<string, string> = await Deno.readTextFile(statePath)
    .then((t) => JSON.parse(t), () => ({}));
  const saveState = () => Deno.writeTextFile(statePath, JSON.stringify(state, null, 2) + "\n");
  const report: DeployReport = { deployed: [], secretsSet: false };

  // Secrets first: a function deployed next starts with them.
  const secrets = {
    ...parseEnvFile(
      await Deno.readTextFile(join(config.root, "supabase/functions/.env")).catch(() => ""),
    ),
    OFFLINE_ASR_URL: `http://127.0.0.1:${config.asrPort}`,
  };
  const secretsText = Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join("");
  const secretsDigest = await sha256Hex(secretsText);
  if (state.secrets !== secretsDigest) {
    const temp = await Deno.makeTempFile({ prefix: "stack_secrets_", suffix: ".env" });
    try {
      await Deno.writeTextFile(temp, secretsText, { mode: 0o600 });
      await runCliAgainstStack(config, ["secrets", "set", "--env-file", temp]);
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
    state.secrets = secretsDigest;
    await saveState();
    report.secretsSet = true;
  }

  const functionsDir = join(config.root, "supabase/functions");
  const sources: Source[] = [
    {
      key: "supabase/functions",
      inputs: [functionsDir, join(config.root, "supabase/config.toml")],
      functionsDir,
      project: () => Promise.resolve(config.root),
      changed: (slugs) => changedInRepo(config, slugs),
    },
    ...config.extraFunctionDirs.map((folder) => ({
      key: folder,
      inputs: [folder],
      functionsDir: folder,
      project: () => extraProject(config, folder),
    })),
  ];
  const live = await store.active();
  for (const source of sources) {
    const digest = await contentDigest(source.inputs);
    const slugs = await functionNames(source.functionsDir);
    if (state[source.key] === digest && slugs.every((s) => s in live)) continue;
    const changed = source.changed ? await source.changed(slugs) : slugs;
    const project = await source.project();
    if (changed.length > 0) {
      // One slug is one upload that goes live; several are uploaded bundleOnly, then one PUT.
      await runCliAgainstStack(
        config,
        ["functions", "deploy", ...changed, "--use-api", "--workdir", project],
        { cwd: project },
      );
      report.deployed.push(`${source.key} (${changed.join(", ")})`);
    }
    state[source.key] = digest;
    await saveState();
  }
  return report;
}
