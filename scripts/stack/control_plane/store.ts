/**
 * What the local Management API keeps in the stack directory (`<stack dir>/control_plane/`):
 * the project's identity (ref, the access token the CLI must present), each function upload
 * (`functions/<slug>/<version>/` holding the uploaded files as the CLI named them, and
 * `deployment.json` with entrypoint, import map and verify_jwt), which version of each function
 * is live (`active.json`, replaced atomically), the project's secrets and the settings
 * `config push` sent. The functions runtime serves exactly what `active.json` names.
 */
import { dirname, join, normalize } from "node:path";
import { z } from "zod";
import { hex, sha256Hex } from "../../lib/digest.ts";

export const Deployment = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  version: z.number().int().positive(),
  created_at: z.number(),
  updated_at: z.number(),
  verify_jwt: z.boolean(),
  entrypoint_path: z.string(),
  import_map_path: z.string().optional(),
  static_patterns: z.array(z.string()).default([]),
  /** SHA-256 over the uploaded files, names included. */
  sha256: z.string(),
});
export type Deployment = z.infer<typeof Deployment>;

/** A live function: its upload and where that upload lies on disk. */
export interface ActiveFunction {
  deployment: Deployment;
  /** The upload's root: every uploaded file lies below it under the name the CLI gave it. */
  bundleDir: string;
  /** Absolute path of the entrypoint inside bundleDir. */
  entrypoint: string;
  /** Absolute path of the uploaded import map (a deno.json or import map), if one was sent. */
  importMap: string | null;
}

const Identity = z.object({ ref: z.string(), accessToken: z.string() });
export type Identity = z.infer<typeof Identity>;

/** The project's slug rule (the Management API's BulkUpdateFunctionBody pattern). */
export const SLUG = /^[A-Za-z][A-Za-z0-9_-]*$/;

export const controlPlaneDir = (stackDir: string) => join(stackDir, "control_plane");

function randomLetters(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return [...bytes].map((b) => String.fromCharCode(97 + (b % 26))).join("");
}

function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomHex(4)}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(temp, path);
}

/**
 * The project ref (20 lowercase letters) and the access token (`sbp_` + 40 hex digits, the
 * format the CLI insists on) of the stack's project, made on first use.
 */
export async function loadIdentity(stackDir: string): Promise<Identity> {
  const path = join(controlPlaneDir(stackDir), "project.json");
  const parsed = Identity.safeParse(await readJson(path));
  if (parsed.success) return parsed.data;
  const identity = { ref: randomLetters(20), accessToken: `sbp_${randomHex(20)}` };
  await writeJsonAtomic(path, identity);
  return identity;
}

export class UploadError extends Error {}

/** An uploaded file's name as a path below the bundle root, or an UploadError. */
export function bundlePath(name: string): string {
  const path = normalize(name.replaceAll("\\", "/"));
  if (!name || path.startsWith("/") || path === ".." || path.startsWith("../")) {
    throw new UploadError(`file name ${JSON.stringify(name)} is not a path inside the bundle`);
  }
  return path;
}

export class ControlPlaneStore {
  readonly dir: string;
  constructor(stackDir: string) {
    this.dir = controlPlaneDir(stackDir);
  }

  #functionDir = (slug: string) => join(this.dir, "functions", slug);
  #activePath = () => join(this.dir, "functions", "active.json");

  /** The live version of every function, by slug. */
  async active(): Promise<Record<string, Deployment>> {
    const parsed = z.record(z.string(), Deployment).safeParse(await readJson(this.#activePath()));
    return parsed.success ? parsed.data : {};
  }

  /** Where a deployment's files are, for the runtime. */
  resolve(d: Deployment): ActiveFunction {
    const bundleDir = join(this.#functionDir(d.slug), String(d.version), "bundle");
    return {
      deployment: d,
      bundleDir,
      entrypoint: join(bundleDir, bundlePath(d.entrypoint_path)),
      importMap: d.import_map_path ? join(bundleDir, bundlePath(d.import_map_path)) : null,
    };
  }

  async #versions(slug: string): Promise<number[]> {
    const versions: number[] = [];
    try {
      for await (const e of Deno.readDir(this.#functionDir(slug))) {
        if (e.isDirectory && /^\d+$/.test(e.name)) versions.push(Number(e.name));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return versions.sort((a, b) => a - b);
  }

  /** A stored upload of `slug`, live or not. */
  async deployment(slug: string, version: number): Promise<Deployment | null> {
    const path = join(this.#functionDir(slug), String(version), "deployment.json");
    const parsed = Deployment.safeParse(await readJson(path));
    return parsed.success ? parsed.data : null;
  }

  /**
   * Stores an upload as the next version of `slug`. Nothing live changes: the files go to a
   * new version folder, written in full before its deployment.json appears.
   */
  async storeUpload(
    slug: string,
    meta: Omit<Deployment, "id" | "slug" | "version" | "created_at" | "updated_at" | "sha256">,
    files: { path: string; bytes: Uint8Array }[],
  ): Promise<Deployment> {
    const live = (await this.active())[slug];
    const versions = await this.#versions(slug);
    const version = Math.max(0, live?.version ?? 0, ...versions) + 1;
    const versionDir = join(this.#functionDir(slug), String(version));
    const bundleDir = join(versionDir, "bundle");
    const digestInput: Uint8Array[] = [];
    for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
      const path = join(bundleDir, f.path);
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeFile(path, f.bytes);
      digestInput.push(new TextEncoder().encode(`${f.path}\0${f.bytes.length}\0`), f.bytes);
    }
    const sha256 = await sha256Hex(...digestInput);
    const now = Date.now();
    const deployment: Deployment = {
      ...meta,
      id: live?.id ?? crypto.randomUUID(),
      slug,
      version,
      created_at: live?.created_at ?? now,
      updated_at: now,
      sha256,
    };
    await writeJsonAtomic(join(versionDir, "deployment.json"), deployment);
    return deployment;
  }

  /** Makes these uploads live, all at once. */
  async activate(deployments: Deployment[]): Promise<void> {
    const active = await this.active();
    for (const d of deployments) active[d.slug] = d;
    await writeJsonAtomic(this.#activePath(), active);
    // Uploads older than the one live before are not needed again (that one may still be
    // finishing requests in its old process).
    for (const d of deployments) {
      for (const v of await this.#versions(d.slug)) {
        if (v < d.version - 1) {
          await Deno.remove(join(this.#functionDir(d.slug), String(v)), { recursive: true })
            .catch(() => {});
        }
      }
    }
  }

  /** The project's secrets (`secrets set`), handed to every function as env vars. */
  async secrets(): Promise<Record<string, string>> {
    const parsed = z.record(z.string(), z.string()).safeParse(
      await readJson(join(this.dir, "secrets.json")),
    );
    return parsed.success ? parsed.data : {};
  }

  async setSecrets(secrets: Record<string, string>): Promise<void> {
    await writeJsonAtomic(join(this.dir, "secrets.json"), secrets);
  }

  /** A service's settings as `config push` last sent them (auth, storage, postgrest, …). */
  async settings(service: string): Promise<Record<string, unknown>> {
    const parsed = z.record(z.string(), z.unknown()).safeParse(
      await readJson(join(this.dir, "config", `${service}.json`)),
    );
    return parsed.success ? parsed.data : {};
  }

  async updateSettings(service: string, patch: Record<string, unknown>): Promise<void> {
    await writeJsonAtomic(join(this.dir, "config", `${service}.json`), {
      ...(await this.settings(service)),
      ...patch,
    });
  }
}
