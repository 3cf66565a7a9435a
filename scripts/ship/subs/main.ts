/**
 * `deno task subs` — the command-line client of AI-Subs, on the same public API as the web app.
 *
 *   subs <file-or-folder>... [options]   submit, show progress, write the subtitles
 *   subs --resume [file...]              continue unfinished uploads of this config folder
 *   subs list | get <id> | cancel <id>   the jobs of this config folder's user
 *   subs presets                         the project's caption style presets
 *   subs webhook-secret [--rotate]       the secret that signs this user's webhooks
 *
 * Run `deno task subs --help` for the options. See README.md ("Command-line client").
 */
import { parseArgs } from "node:util";
import type { Json } from "../../../supabase/functions/_shared/database.types.ts";
import { isMediaName } from "../../../web/src/media/media_files.ts";
import {
  type CaptionPreset,
  PRESET_COLUMNS,
  presetProblem,
  presetsOf,
  presetSummary,
} from "../../../web/src/caption_presets.ts";
import { createClient } from "@supabase/supabase-js";
import { dirname, join } from "node:path";
import { type Client, configDir, project, signedIn } from "./config.ts";
import { Display } from "./display.ts";
import { asCliError, CliError, fromApiError } from "./errors.ts";
import { followJob } from "./follow.ts";
import { FORMATS, writeOutputs } from "./outputs.ts";
import { dropState, type SubmitSettings, unfinished, type UploadState } from "./state.ts";
import { discardUpload, insertJob, prepareUpload, uploadChunks } from "./submit.ts";

const HELP = `Usage:
  deno task subs <file-or-folder>... [options]
  deno task subs --resume [file...]
  deno task subs list | get <id> | cancel <id> | presets | webhook-secret [--rotate]

Options (as in the web form):
  -l, --language CODE      spoken language ("auto" by default), e.g. en, pt-BR
      --force-language     use --language even where the engine hears another
      --speakers N         number of speakers (or --min-speakers N / --max-speakers N)
      --translate LANGS    translations, comma-separated, e.g. fr,de (at most 5)
      --summary            also a summary, chapters and key points
      --preset NAME        caption style preset of the project (\`subs presets\` lists them)
  -f, --format LIST        files to write: ${FORMATS.join(",")} (default srt)
  -o, --out DIR            write them into DIR instead of beside the input
      --webhook URL        post a signed event to URL when the job completes or fails
      --no-wait            exit once the job is submitted (print its id)
      --resume             continue unfinished uploads
      --json               one JSON object per line, for scripts
  -h, --help

Environment: SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY (else the local stack's .stack/env);
SUBS_CONFIG_DIR (default ~/.config/ai-subs) keeps the session and unfinished uploads.`;

const { values: flags, positionals } = (() => {
  try {
    return parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        language: { type: "string", short: "l" },
        "force-language": { type: "boolean" },
        speakers: { type: "string" },
        "min-speakers": { type: "string" },
        "max-speakers": { type: "string" },
        translate: { type: "string" },
        summary: { type: "boolean" },
        preset: { type: "string" },
        format: { type: "string", short: "f" },
        out: { type: "string", short: "o" },
        webhook: { type: "string" },
        "no-wait": { type: "boolean" },
        resume: { type: "boolean" },
        rotate: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`error [invalid_options]: ${(error as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
})();

const display = new Display(flags.json ? "json" : Deno.stdout.isTerminal() ? "tty" : "lines");
const encoder = new TextEncoder();
const print = (value: unknown): void => {
  Deno.stdout.writeSync(
    encoder.encode((typeof value === "string" ? value : JSON.stringify(value)) + "\n"),
  );
};

function fail(error: CliError): never {
  display.end();
  if (flags.json) print({ error: { code: error.code, message: error.message } });
  else console.error(`error [${error.code}]: ${error.message}`);
  Deno.exit(1);
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new CliError("invalid_options", `--${name} must be a whole number.`);
  }
  return Number(value);
}

function settingsFromFlags(): SubmitSettings {
  const options: Record<string, Json> = {};
  if (flags.language) options.language = flags.language;
  if (flags["force-language"]) options.force_language = true;
  const speakers = count("speakers", flags.speakers);
  const min = count("min-speakers", flags["min-speakers"]);
  const max = count("max-speakers", flags["max-speakers"]);
  if (speakers !== undefined) options.num_speakers = speakers;
  if (min !== undefined) options.min_speakers = min;
  if (max !== undefined) options.max_speakers = max;
  if (flags.translate) {
    options.translate_to = flags.translate.split(",").map((l) => l.trim()).filter(Boolean);
  }
  if (flags.summary) options.summarize = true;
  if (flags.preset) options.caption_style = { preset: flags.preset };
  if (flags.webhook) options.webhook_url = flags.webhook;
  const formats = (flags.format ?? "srt").split(",").map((f) => f.trim().toLowerCase()).filter(
    Boolean,
  );
  for (const f of formats) {
    if (!(FORMATS as readonly string[]).includes(f)) {
      throw new CliError(
        "invalid_options",
        `--format: "${f}" is not one of ${FORMATS.join(", ")}.`,
      );
    }
  }
  if (flags.summary && !formats.includes("summary")) formats.push("summary");
  const out = flags.out ? absolute(flags.out) : null;
  return { options, formats, out, wait: !flags["no-wait"] };
}

const absolute = (path: string) => (path.startsWith("/") ? path : join(Deno.cwd(), path));

/** The files named on the command line; a folder stands for its media files, by name. */
async function expandInputs(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths.map(absolute)) {
    const info = await Deno.stat(path).catch(() => null);
    if (!info) throw new CliError("not_found", `${path}: no such file or folder.`);
    if (!info.isDirectory) {
      files.push(path);
      continue;
    }
    const inFolder: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && isMediaName(entry.name)) inFolder.push(join(path, entry.name));
    }
    if (!inFolder.length) {
      throw new CliError("not_found", `${path}: no audio or video files in this folder.`);
    }
    files.push(...inFolder.sort());
  }
  return files;
}

/** What Ctrl-C interrupts: an upload (resumable), or a submitted job (cancel or leave it). */
let current: { kind: "upload"; abort: AbortController } | { kind: "job"; id: string } | null = null;
let client: Client | null = null;

Deno.addSignalListener("SIGINT", () => {
  display.end();
  const now = current;
  if (now?.kind === "job") {
    const interactive = Deno.stdin.isTerminal() && !flags.json;
    const answer = interactive ? prompt(`\nCancel job ${now.id} on the server? [y/N]`) : null;
    if (answer && /^y(es)?$/i.test(answer.trim()) && client) {
      client.rpc("cancel_job", { job_id: now.id }).then(({ error }) => {
        if (error) console.error(`error [${error.hint}]: ${error.message}`);
        else console.error(`Cancelled job ${now.id}.`);
        Deno.exit(130);
      });
      return;
    }
    console.error(`Left running: job ${now.id}. \`deno task subs get ${now.id}\` shows it later.`);
  } else if (now?.kind === "upload") {
    now.abort.abort();
    console.error("Upload stopped. `deno task subs --resume` continues it.");
  }
  Deno.exit(130);
});

interface FileResult {
  file: string;
  job_id: string | null;
  status: string;
  files: string[];
  error?: { code: string; message: string };
}

async function submitState(
  c: Client,
  p: ReturnType<typeof project>,
  state: UploadState,
  dir: string,
): Promise<FileResult> {
  const abort = new AbortController();
  current = { kind: "upload", abort };
  await uploadChunks(c, p, state, dir, display, abort.signal);
  let job;
  try {
    job = await insertJob(c, state, display);
  } catch (error) {
    // Refused for good (options, limits): an upload without a job would never be cleaned up.
    if (error instanceof CliError && error.code !== "internal") await discardUpload(c, state, dir);
    throw error;
  }
  await dropState(dir, state.id);
  current = { kind: "job", id: job.id };
  if (job.cachedFrom) {
    display.note("The same recording with the same options was done before: reusing that result.");
  }
  if (!state.settings.wait) {
    display.note(`Submitted job ${job.id}.`);
    return { file: state.input, job_id: job.id, status: "pending", files: [] };
  }
  const end = await followJob(c, job.id, display);
  current = null;
  if (end.status !== "completed") {
    const error = {
      code: end.error_code ?? end.status,
      message: end.error_message ?? `The job was ${end.status}.`,
    };
    display.note(`error [${error.code}]: ${error.message}`);
    return { file: state.input, job_id: job.id, status: end.status, files: [], error };
  }
  const files = await writeOutputs(
    c,
    {
      id: job.id,
      filename: state.filename,
      options: state.settings.options as { translate_to?: string[] },
    },
    state.settings.formats,
    state.settings.out ?? dirname(state.input),
    (text) => display.note(text),
  );
  for (const f of files) display.note(`wrote ${f}`);
  return { file: state.input, job_id: job.id, status: "completed", files };
}

/** The project's caption presets (public.caption_presets; the publishable key may read them). */
async function projectPresets(c?: Client): Promise<CaptionPreset[]> {
  const reader = c ?? createClient(project().url, project().key, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { data, error } = await reader.from("caption_presets").select(PRESET_COLUMNS);
  if (error) throw fromApiError(error);
  return presetsOf(data);
}

async function listPresets(c: Client) {
  const presets = await projectPresets(c);
  if (flags.json) return print(presets);
  for (const p of presets) print(`${p.name.padEnd(12)} ${presetSummary(p)}`);
}

/**
 * The options as the server would store them, or its refusal (unknown language, bad numbers…),
 * before anything is hashed or uploaded: the insert's own validation (rpc check_options).
 */
async function checkOptions(c: Client, settings: SubmitSettings): Promise<void> {
  const { error } = await c.rpc("check_options", { options: settings.options as Json });
  if (error) throw fromApiError(error);
}

async function submitFiles(): Promise<number> {
  const p = project();
  const dir = configDir();
  if (!flags.resume && !positionals.length) {
    throw new CliError("invalid_options", `Name a file or folder.\n\n${HELP}`);
  }
  const settings = flags.resume ? null : settingsFromFlags();
  const session = await signedIn(p, dir);
  client = session.client;
  if (flags.preset && !flags.resume) {
    // Checked before any upload: a name the server refuses would fail the job after it.
    const problem = presetProblem(flags.preset, await projectPresets(session.client));
    if (problem) throw new CliError("invalid_options", `--preset: ${problem}`);
  }
  if (settings) await checkOptions(session.client, settings);
  const results: FileResult[] = [];
  let work: { input: string; state?: UploadState }[];
  if (flags.resume) {
    const wanted = new Set(positionals.map(absolute));
    const states = (await unfinished(dir)).filter((s) => !wanted.size || wanted.has(s.input));
    if (!states.length) {
      display.note("Nothing to resume.");
      return 0;
    }
    work = states.map((state) => ({ input: state.input, state }));
  } else {
    work = (await expandInputs(positionals)).map((input) => ({ input }));
  }
  for (const item of work) {
    display.begin(item.input);
    try {
      const state = item.state ??
        await prepareUpload(session.client, session.userId, item.input, settings!, dir, display);
      results.push(await submitState(session.client, p, state, dir));
    } catch (error) {
      const e = asCliError(error);
      display.note(`error [${e.code}]: ${e.message}`);
      results.push({
        file: item.input,
        job_id: null,
        status: "failed",
        files: [],
        error: { code: e.code, message: e.message },
      });
    }
  }
  display.end();
  if (flags.json) print({ event: "done", results });
  return results.every((r) => !r.error) ? 0 : 1;
}

async function listJobs(c: Client) {
  const { data, error } = await c.from("jobs")
    .select("id,filename,status,progress,stage_message,error_code,created_at")
    .order("created_at", { ascending: false }).limit(100);
  if (error) throw fromApiError(error);
  if (flags.json) return print(data);
  if (!data.length) return print("No jobs yet.");
  for (const j of data) {
    print(
      `${j.id}  ${j.status.padEnd(10)} ${String(j.progress).padStart(3)}%  ${
        j.created_at.slice(0, 16).replace("T", " ")
      }  ${j.filename}${j.error_code ? `  [${j.error_code}]` : ""}`,
    );
  }
}

async function getJob(c: Client, id: string | undefined) {
  if (!id) throw new CliError("invalid_options", "Usage: subs get <job id>");
  const { data: job, error } = await c.from("jobs").select("*").eq("id", id).maybeSingle();
  if (error) throw fromApiError(error);
  if (!job) throw new CliError("not_found", "This job does not exist or you cannot see it.");
  let files: string[] = [];
  if (job.status === "completed" && (flags.format || flags.out)) {
    files = await writeOutputs(
      c,
      { id: job.id, filename: job.filename, options: job.options as { translate_to?: string[] } },
      (flags.format ?? "srt").split(","),
      flags.out ? absolute(flags.out) : Deno.cwd(),
      (text) => console.error(text),
    );
  }
  if (flags.json) return print({ ...job, files });
  print(
    `${job.filename}\n  id        ${job.id}\n  status    ${job.status} ${job.progress}%\n  stage     ${
      job.stage_message ?? ""
    }`,
  );
  if (job.error_code) print(`  error     [${job.error_code}] ${job.error_message}`);
  print(
    `  created   ${job.created_at}${job.completed_at ? `\n  ended     ${job.completed_at}` : ""}`,
  );
  for (const f of files) print(`  wrote     ${f}`);
}

async function cancelJob(c: Client, id: string | undefined) {
  if (!id) throw new CliError("invalid_options", "Usage: subs cancel <job id>");
  const { data, error } = await c.rpc("cancel_job", { job_id: id });
  if (error) throw fromApiError(error);
  if (flags.json) print(data);
  else print(`Cancelled job ${id}.`);
}

async function webhookSecret(c: Client) {
  const { data, error } = await c.rpc(flags.rotate ? "rotate_webhook_secret" : "webhook_secret");
  if (error) throw fromApiError(error);
  print(flags.json ? { secret: data } : data);
}

async function main(): Promise<number> {
  if (flags.help) {
    print(HELP);
    // The presets are the project's: shown when it can be reached, from its table.
    const presets = await Promise.race([
      projectPresets().catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000)),
    ]);
    if (presets) {
      print(`\nCaption style presets (--preset) of ${project().url}:`);
      for (const p of presets) print(`  ${p.name.padEnd(12)} ${presetSummary(p)}`);
    }
    return 0;
  }
  const [command, arg] = positionals;
  const commands: Record<string, (c: Client) => Promise<void>> = {
    list: listJobs,
    get: (c) => getJob(c, arg),
    cancel: (c) => cancelJob(c, arg),
    "webhook-secret": webhookSecret,
    presets: listPresets,
  };
  if (!flags.resume && command in commands && !(await Deno.stat(command).catch(() => null))) {
    const { client: c } = await signedIn();
    client = c;
    await commands[command](c);
    return 0;
  }
  return await submitFiles();
}

try {
  Deno.exit(await main());
} catch (error) {
  fail(asCliError(error));
}
