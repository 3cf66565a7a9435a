/**
 * The hosted limits this product is built to fit, in one place. The local stack enforces the
 * Edge Function ones (scripts/stack/function_host.ts reads this module), the steps size their
 * work by them, and the deploy and bench scripts report against them. Figures are Supabase's
 * Free plan (https://supabase.com/docs/guides/functions/limits, .../storage/uploads/file-limits)
 * and OpenAI's transcription upload limit.
 *
 * Storage's limit is also in supabase/config.toml (`[storage] file_size_limit`, the project's
 * global limit that `supabase config push` sets) and on the `media` bucket
 * (supabase/schemas/100_storage.sql), because Storage itself enforces it; a test checks that
 * both say STORAGE_OBJECT_BYTES. A paid plan raises it with that one config.toml value, which
 * `deno task deploy` also applies to the bucket.
 */

/** Wall clock of one Edge Function invocation, its background work included (Free: 150 s). */
export const FUNCTION_WALL_CLOCK_S = 150;
/** Memory of one invocation (V8 heap plus array buffers) before the worker is killed. */
export const FUNCTION_MEMORY_BYTES = 256 * 1024 * 1024;
/** CPU time of one request, async I/O excluded (Free and paid: 2 s). */
export const FUNCTION_CPU_MS = 2000;
/**
 * What an invocation of ours may take at most, leaving the rest of the wall clock as margin:
 * a download of at most DOWNLOAD_BUDGET_MS, then a provider request and one retry of it.
 */
export const INVOCATION_BUDGET_MS = 120_000;
export const DOWNLOAD_BUDGET_MS = 20_000;
/** One request to a cloud provider, so that two of them fit the budget after the download. */
export const PROVIDER_TIMEOUT_MS = (INVOCATION_BUDGET_MS - DOWNLOAD_BUDGET_MS) / 2;

/** Largest Storage object on the Free plan (its global limit): 50 MB. */
export const STORAGE_OBJECT_BYTES = 50 * 1024 * 1024;
/** The same in config.toml's notation. */
export const STORAGE_OBJECT_LIMIT_TOML = "50MiB";

/** OpenAI's (and Groq's) largest file for /audio/transcriptions: 25 MB. */
export const OPENAI_UPLOAD_BYTES = 25 * 1000 * 1000;
/** What we send at most: the form fields and a margin stay inside OPENAI_UPLOAD_BYTES. */
export const AUDIO_UPLOAD_BYTES = 24 * 1000 * 1000;
