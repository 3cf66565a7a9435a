/**
 * scripts/ship/deploy.ts against fake `supabase` and `npm` executables on PATH that record their
 * arguments (and the files and env vars they are given): the commands, their order and flags,
 * the refusal without a provider, --dry-run, and that no secret is printed.
 */
import assert from "node:assert/strict";
import { repoRoot } from "../lib/repo.ts";
import { join } from "node:path";

const REF = "abcdefghijklmnopqrst";
const SECRET = "sb_secret_TESTSECRETVALUE0123456789";
const OPENAI_KEY = "sk-test-PROVIDERKEY0123456789";
const PUBLISHABLE = "sb_publishable_TESTPUBLISHABLE0123";

interface Call {
  tool: string;
  args: string[];
  file?: string;
  /** Every VITE_ variable the tool got: the web build must get none (nothing baked in). */
  vite?: string[];
}

async function fakeTools(dir: string): Promise<string> {
  const log = join(dir, "calls.jsonl");
  // One recorder for both tools: appends a JSON line per call (files named by --env-file and
  // --file copied in, the names of any VITE_ variables); `projects api-keys` lists keys.
  await Deno.writeTextFile(
    join(dir, "record.ts"),
    `const [tool, ...args] = Deno.args;
const at = args.findIndex((a) => a === "--env-file" || a === "--file");
const file = at >= 0 ? Deno.readTextFileSync(args[at + 1]) : undefined;
Deno.writeTextFileSync(${JSON.stringify(log)}, JSON.stringify({
  tool, args, file,
  vite: Object.keys(Deno.env.toObject()).filter((k) => k.startsWith("VITE_")),
}) + "\\n", { append: true });
if (tool === "supabase" && args[0] === "projects") {
  console.log(JSON.stringify([{ name: "anon", api_key: "eyJx" },
    { name: "default", type: "publishable", api_key: ${JSON.stringify(PUBLISHABLE)} }]));
}
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

Deno.test("deploy runs link, config push, db push, functions, secrets, Vault, web build in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await fakeTools(dir);
    const site = join(dir, "site");
    const result = await deploy(dir, ["--project-ref", REF, "--web-out", site], {
      ...provider,
      SUPABASE_SECRET_KEY: SECRET,
    });
    assert.equal(result.code, 0, result.stderr);
    const got = await calls(log);
    const line = (c: Call) => `${c.tool} ${c.args.join(" ")}`.replace(/\/tmp\/\S+/g, "<tmp>");
    assert.deepEqual(got.map(line), [
      `supabase link --project-ref ${REF}`,
      `supabase config push --remote=${REF} --yes`,
      `supabase db push --remote=${REF} --yes`,
      `supabase functions deploy --remote=${REF} --use-api --yes`,
      `supabase secrets set --env-file <tmp> --remote=${REF} --yes`,
      `supabase db query --remote=${REF} --file <tmp> --yes`,
      `supabase projects api-keys --remote=${REF} --output json`,
      "npm install --no-audit --no-fund --loglevel=error",
      "npm run build -- --outDir <tmp> --emptyOutDir",
    ]);
    assert.equal(got[8].args[4], site);
    // The provider key and the hosted switch reach the functions' secrets through a file.
    const secrets = got[4].file!;
    assert.match(secrets, new RegExp(`^OPENAI_API_KEY=${OPENAI_KEY}$`, "m"));
    assert.match(secrets, /^TRANSCRIBE_PROVIDER=openai$/m);
    assert.match(secrets, /^AI_SUBS_HOSTED=1$/m);
    // The dispatcher's Vault secrets and the plan's object limit on the bucket.
    const sql = got[5].file!;
    assert.match(sql, new RegExp(`'https://${REF}\\.supabase\\.co/functions/v1'`));
    assert.match(sql, /'functions_url'/);
    assert.match(sql, new RegExp(`'${SECRET}'`));
    assert.match(sql, /'secret_key'/);
    assert.match(sql, /set file_size_limit = 52428800 where id = 'media'/);
    // The one web build (nothing baked in), and beside it the project's config.json, which the
    // output also shows for a build hosted elsewhere.
    assert.deepEqual(got.map((c) => c.vite ?? []).flat(), []);
    const config = JSON.parse(await Deno.readTextFile(join(site, "config.json")));
    assert.deepEqual(config, {
      supabaseUrl: `https://${REF}.supabase.co`,
      publishableKey: PUBLISHABLE,
    });
    assert.match(result.stdout, /static host/);
    assert(result.stdout.includes(JSON.stringify(config)), "config.json not shown");
    for (const secret of [SECRET, OPENAI_KEY]) {
      assert(!result.stdout.includes(secret) && !result.stderr.includes(secret), "secret printed");
      assert(!got.some((c) => c.args.some((a) => a.includes(secret))), "secret on a command line");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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
    assert.match(lines[8], /npm run build -- --outDir \S+\/web\/dist-abcdefghijklmnopqrst /);
    assert.match(
      lines[9],
      /^write web\/dist-abcdefghijklmnopqrst\/config\.json: \{"supabaseUrl":"https:\/\/abcdefghijklmnopqrst\.supabase\.co","publishableKey":"<publishable key>"\}$/,
    );
    assert(
      !(await Deno.stat(join(repoRoot, "web/dist-abcdefghijklmnopqrst")).then(() => 1, () => 0)),
      "dry run wrote the site",
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
