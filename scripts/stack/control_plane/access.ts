/**
 * How the real Supabase CLI reaches the stack's Management API: a profile file (`--profile`,
 * the CLI's YAML with name, api_url, dashboard_url, project_host), the project ref and the
 * access token, and the environment every CLI call of the project gets (no telemetry, so no
 * traffic leaves loopback).
 */
import { join } from "node:path";
import type { StackConfig } from "../config.ts";
import { pinnedSupabaseCli, supabaseCliEnv } from "../../lib/supabase_cli.ts";
import { controlPlaneDir, loadIdentity } from "./store.ts";

export interface ControlPlaneAccess {
  /** The Management API's base URL (the profile's api_url). */
  apiUrl: string;
  /** The CLI profile file naming it. */
  profile: string;
  ref: string;
  accessToken: string;
}

/** The environment of every Supabase CLI call the project makes. */

export async function controlPlaneAccess(config: StackConfig): Promise<ControlPlaneAccess> {
  const identity = await loadIdentity(config.dir);
  const apiUrl = `http://127.0.0.1:${config.controlPort}`;
  const profile = join(controlPlaneDir(config.dir), "profile.yaml");
  // project_host "localhost": the CLI dials db.<ref>.localhost, which resolves to loopback; the
  // stack's callers pass --db-url where they need the database.
  await Deno.writeTextFile(
    profile,
    [
      "name: ai-subs-local-stack",
      `api_url: ${apiUrl}`,
      `dashboard_url: ${apiUrl}`,
      "project_host: localhost",
      "",
    ].join("\n"),
  );
  return { apiUrl, profile, ref: identity.ref, accessToken: identity.accessToken };
}

/** Runs the pinned CLI against the stack's Management API; throws with its output on failure. */
export async function runCliAgainstStack(
  config: StackConfig,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const access = await controlPlaneAccess(config);
  const out = await new Deno.Command(pinnedSupabaseCli(config.root), {
    args: [...args, "--profile", access.profile, `--remote=${access.ref}`, "--yes"],
    cwd: options.cwd ?? config.root,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: {
      ...supabaseCliEnv(config),
      SUPABASE_ACCESS_TOKEN: access.accessToken,
      ...options.env,
    },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`supabase ${args.slice(0, 2).join(" ")} failed:\n${text}`);
  return text;
}
