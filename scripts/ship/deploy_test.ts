/**
 * scripts/ship/deploy.ts where no Management API is needed: --dry-run (every command printed,
 * none run) and the refusals before any command, with fake `supabase` and `npm` executables on
 * PATH that record any call. The real run, with the real CLI against the stack's Management
 * API, is scripts/tests/integration/deploy_test.ts.
 */
import assert from "node:assert/strict";
import { repoRoot } from "../lib/repo.ts";
import { join } from "node:path";

const REF = "abcdefghijklmnopqrst";
const SECRET = "sb_secret_TESTSECRETVALUE0123456789";
const OPENAI_KEY = "sk-test-PROVIDERKEY0123456789";

interface Call {
  tool: string;
  args: string[];
}

async function fakeTools(dir: string): Promise<string> {
  const log = join(dir, "calls.jsonl");
  // One recorder for both tools: a JSON line per call (there should be none).
  await Deno.writeTextFile(
    join(dir, "record.ts"),
    `const [tool, ...args] = Deno.args;
Deno.writeTextFileSync(${
      JSON.stringify(log)
    }, JSON.stringify({ tool, args }) + "\\n", { append: true });
`,
  );
  for (const tool of ["supabase", "npm"]) {
    await Deno.writeTextFile(
      join(dir, tool),
      `#!/bin/sh\nexec ${Deno.execPath()} run -A ${join(dir, "record.ts")} ${tool} "$@"\n`,
      { mode: 0o755 },
    );
  }
  return log;
}

async function deploy(
  dir: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repoRoot, "scripts/ship/deploy.ts"), ...args],
    cwd: repoRoot,
    clearEnv: true,
    env: {
      PATH: `${dir}:${Deno.env.get("PATH")}`,
      HOME: Deno.env.get("HOME") ?? "/root",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function calls(log: string): Promise<Call[]> {
  const text = await Deno.readTextFile(log).catch(() => "");
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Call);
}

const provider = { TRANSCRIBE_PROVIDER: "openai", OPENAI_API_KEY: OPENAI_KEY };

Deno.test("deploy --dry-run prints every command, one per line, and runs none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await fakeTools(dir);
    const result = await deploy(dir, ["--project-ref", REF, "--dry-run"], {
      ...provider,
      SUPABASE_SECRET_KEY: SECRET,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await calls(log), []);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 10, result.stdout);
    assert.match(lines[0], new RegExp(`^supabase link --project-ref ${REF}$`));
    assert.match(lines[5], /^supabase db query --remote=\S+ --file <vault\.sql> --yes$/);
    // One web build with nothing baked in; the project's config.json is written beside it.
    assert.match(lines[8], /npm run build -- --outDir \S+\/web\/dist-abcdefghijklmnopqrst /);
    assert.doesNotMatch(result.stdout, /VITE_/);
    assert.equal(
      lines[9],
      `write web/dist-${REF}/config.json: ` +
        `{"supabaseUrl":"https://${REF}.supabase.co","publishableKey":"<publishable key>"}`,
    );
    assert(
      !result.stdout.includes(SECRET) && !result.stdout.includes(OPENAI_KEY),
      "secret printed",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy refuses without a transcription provider and names the variables", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await fakeTools(dir);
    const cases: Record<string, string>[] = [
      {},
      { TRANSCRIBE_PROVIDER: "offline" },
      { TRANSCRIBE_PROVIDER: "gemini" },
    ];
    for (const env of cases) {
      const result = await deploy(dir, ["--project-ref", REF], {
        ...env,
        SUPABASE_SECRET_KEY: SECRET,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /TRANSCRIBE_PROVIDER|GEMINI_API_KEY/);
      if (!("TRANSCRIBE_PROVIDER" in env) || env.TRANSCRIBE_PROVIDER === "offline") {
        for (const name of ["TRANSCRIBE_PROVIDER", "OPENAI_API_KEY", "GEMINI_API_KEY"]) {
          assert.match(result.stderr, new RegExp(name));
        }
      }
    }
    const noSecret = await deploy(dir, ["--project-ref", REF], provider);
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /SUPABASE_SECRET_KEY/);
    assert.deepEqual(await calls(log), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy --dry-run with another Management API passes its profile, URL and database", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await fakeTools(dir);
    const result = await deploy(dir, [
      "--project-ref",
      REF,
      "--dry-run",
      "--profile",
      "/tmp/profile.yaml",
      "--project-url",
      "http://127.0.0.1:54321",
      "--db-url",
      "postgresql://postgres:hunter2@127.0.0.1:54322/postgres",
    ], { ...provider, SUPABASE_SECRET_KEY: SECRET });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await calls(log), []);
    const lines = result.stdout.trim().split("\n");
    const supabaseLines = lines.filter((l) => l.startsWith("supabase "));
    assert.equal(supabaseLines.length, 7, result.stdout);
    for (const line of supabaseLines) assert.match(line, / --profile \/tmp\/profile\.yaml\b/);
    assert.equal(
      lines[2],
      "supabase db push --remote=postgresql://postgres:***@127.0.0.1:54322/postgres --yes " +
        "--profile /tmp/profile.yaml",
    );
    assert(!result.stdout.includes("hunter2"), "database password printed");
    assert.match(lines[9], /config\.json: \{"supabaseUrl":"http:\/\/127\.0\.0\.1:54321",/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
