/**
 * Where `deno task subs` finds its Supabase and keeps its state. The project comes from
 * SUPABASE_URL and SUPABASE_PUBLISHABLE_KEY (SUPABASE_ANON_KEY before the key rename), else
 * from the local stack's `env` file, so the same command works against the stack and a hosted
 * project. The anonymous session and unfinished uploads live in a config folder
 * (SUBS_CONFIG_DIR, else $XDG_CONFIG_HOME/ai-subs, else ~/.config/ai-subs), so later runs are
 * the same user and see the same jobs.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import type { Database } from "../../../supabase/functions/_shared/database.types.ts";
import { localStackDir } from "../../lib/repo.ts";
import { readStackEnvFile } from "../../lib/env_file.ts";
import { join } from "node:path";
import { CliError } from "./errors.ts";

export type Client = SupabaseClient<Database>;

export interface Project {
  url: string;
  key: string;
}

const Env = z.object({ url: z.url(), key: z.string().min(20) });

/** The project to talk to: the environment first, the local stack's env file second. */
export function project(env: Record<string, string> = Deno.env.toObject()): Project {
  const keyOf = (vars: Record<string, string>) =>
    vars.SUPABASE_PUBLISHABLE_KEY || vars.SUPABASE_ANON_KEY;
  let url = env.SUPABASE_URL;
  let key = keyOf(env);
  if (!url || !key) {
    const dir = localStackDir(env);
    const path = join(dir, "env");
    const file = readStackEnvFile(dir) ?? {};
    url ||= file.SUPABASE_URL;
    key ||= keyOf(file);
    if (!url || !key) {
      throw new CliError(
        "no_project",
        `Set SUPABASE_URL and SUPABASE_PUBLISHABLE_KEY, or start the local stack (${path}).`,
      );
    }
  }
  const parsed = Env.safeParse({ url, key });
  if (!parsed.success) {
    throw new CliError("no_project", "SUPABASE_URL or SUPABASE_PUBLISHABLE_KEY is not valid.");
  }
  return { url: parsed.data.url.replace(/\/$/, ""), key: parsed.data.key };
}

export function configDir(env: Record<string, string> = Deno.env.toObject()): string {
  if (env.SUBS_CONFIG_DIR) return env.SUBS_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "ai-subs");
  return join(env.HOME ?? ".", ".config", "ai-subs");
}

/**
 * A file-backed store for supabase-js's session, one file per project. The project is told
 * apart by its key, not its URL, so the same project reached another way (a proxy, another
 * host name) is the same user.
 */
async function sessionStorage(dir: string, p: Project) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(p.key));
  const id = Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const file = join(dir, `session-${id}.json`);
  const read = (): Record<string, string> => {
    try {
      return JSON.parse(Deno.readTextFileSync(file));
    } catch {
      return {};
    }
  };
  const write = (data: Record<string, string>) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(file, JSON.stringify(data), { mode: 0o600 });
  };
  return {
    getItem: (key: string) => read()[key] ?? null,
    setItem: (key: string, value: string) => write({ ...read(), [key]: value }),
    removeItem: (key: string) => {
      const data = read();
      delete data[key];
      write(data);
    },
  };
}

/** The client of this config folder's user, signed in (anonymously on first use). */
export async function signedIn(
  p: Project = project(),
  dir = configDir(),
): Promise<{ client: Client; userId: string }> {
  const client = createClient<Database>(p.url, p.key, {
    auth: { storage: await sessionStorage(dir, p), persistSession: true, autoRefreshToken: true },
  });
  const { data } = await client.auth.getSession();
  let user = data.session?.user;
  if (user) {
    // The stored session may belong to a project that was reset: check it is still valid.
    const { data: checked, error } = await client.auth.getUser();
    if (error || !checked.user) user = undefined;
  }
  if (!user) {
    const { data: signedIn, error } = await client.auth.signInAnonymously();
    if (error || !signedIn.user) {
      throw new CliError("not_signed_in", `Could not sign in: ${error?.message ?? "no user"}`);
    }
    user = signedIn.user;
  }
  return { client, userId: user.id };
}
