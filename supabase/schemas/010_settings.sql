-- The job engine's private schema, its tunable settings and the one table that maps error
-- codes to the messages users see.

create extension if not exists pg_net;
create extension if not exists supabase_vault;

-- Not in the API's exposed schemas: tables here are reachable only through the security
-- definer functions of this folder. Policies call a few helpers here, hence USAGE (which
-- functions may be executed is settled in 110_privileges.sql).
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to anon, authenticated, service_role;

-- A step_parallelism value: an object of whole numbers ≥ 1, e.g. {"transcribe": 1}.
create function private.valid_step_parallelism(caps jsonb) returns boolean
language sql immutable set search_path = ''
as $$
  select jsonb_typeof(caps) = 'object' and not exists (
    select 1 from jsonb_each(caps) e
    where jsonb_typeof(e.value) <> 'number' or e.value::numeric < 1
       or e.value::numeric <> trunc(e.value::numeric))
$$;

-- One row. Changed with a plain UPDATE by an operator; read by every engine function.
create table private.settings (
  singleton boolean primary key default true check (singleton),
  active_job_limit integer not null default 3 check (active_job_limit > 0),
  -- Active jobs one user may have at once (fair use: one user never holds every slot).
  per_user_active_limit integer not null default 2 check (per_user_active_limit > 0),
  -- How often a running step reports progress and proof of life (claim_task hands it out).
  heartbeat_seconds integer not null default 5 check (heartbeat_seconds > 0),
  stale_after_seconds integer not null default 90 check (stale_after_seconds > 0),
  max_attempts integer not null default 3 check (max_attempts > 0),
  backoff_base_seconds numeric not null default 10 check (backoff_base_seconds >= 0),
  backoff_max_seconds numeric not null default 600 check (backoff_max_seconds >= 0),
  retention interval not null default interval '7 days',
  -- How long the record of what happened (private.events) is kept, and how much of it one
  -- hourly run deletes at most.
  events_retention interval not null default interval '30 days',
  events_prune_batch integer not null default 10000 check (events_prune_batch > 0),
  per_job_parallelism integer not null default 4 check (per_job_parallelism > 0),
  global_parallelism integer not null default 8 check (global_parallelism > 0),
  -- Caps on one step's tasks in flight across all jobs, for an engine that can take only so
  -- many requests at once (the offline engine: one, see scripts/asr/capacity.ts).
  step_parallelism jsonb not null default '{}'::jsonb
    check (private.valid_step_parallelism(step_parallelism)),
  dispatch_timeout_ms integer not null default 5000 check (dispatch_timeout_ms > 0),
  -- While the step functions cannot be reached at all (connection refused, a timeout, HTTP 429,
  -- 502, 503 or 504), a task's dispatch is retried without using up an attempt, for at most
  -- unreachable_patience since the first such failure, at most unreachable_retry_seconds apart.
  unreachable_patience interval not null default interval '30 minutes',
  unreachable_retry_seconds numeric not null default 60 check (unreachable_retry_seconds > 0),
  progress_interval interval not null default interval '1 second',
  cleanup_batch_size integer not null default 50 check (cleanup_batch_size > 0),
  cleanup_batches_per_run integer not null default 4 check (cleanup_batches_per_run > 0),
  -- The longest recording accepted, checked at submission (the client's duration) and again by
  -- prepare (the duration of what was uploaded): the one place this limit lives.
  max_media_seconds numeric not null default 14400 check (max_media_seconds > 0),
  -- Storage hygiene: uploads that no job references are removed after upload_grace (by the
  -- cleanup function, hourly), and one user's unreferenced uploads may hold at most
  -- pending_upload_bytes (checked when an object is written, 100_storage.sql).
  upload_grace interval not null default interval '24 hours',
  pending_upload_bytes bigint not null default 2147483648 check (pending_upload_bytes > 0),
  orphan_cleanup_batch integer not null default 1000 check (orphan_cleanup_batch > 0),
  -- Estimates before there is any history: processing seconds per media second.
  default_seconds_per_media_second numeric not null default 0.15,
  -- Names of the Vault secrets holding where the step functions live and how to call them
  -- (the project's secret key `sb_secret_…`, sent as the `apikey` header).
  functions_url_secret text not null default 'functions_url',
  service_key_secret text not null default 'secret_key'
);
insert into private.settings default values on conflict do nothing;

-- Every error a user can see: a stable code, the message shown as is, whether the engine may
-- retry it, and the HTTP status the REST gateway answers with when it is raised (SQLSTATE
-- 'PT' || http_status). `{limit}` in a message is replaced by the active-job limit,
-- `{user_limit}` by the per-user one.
create table private.error_codes (
  code text primary key,
  message text not null,
  retryable boolean not null,
  http_status integer not null default 400
);
insert into private.error_codes (code, message, retryable, http_status) values
  ('queue_full', '{limit} jobs are processing; try again in a few minutes.', false, 429),
  ('user_queue_full', 'You already have {user_limit} jobs processing. Wait for one to finish, then try again.', false, 429),
  ('invalid_manifest', 'The chunk manifest breaks a rule: {detail}. Fix the manifest or its chunks and upload the recording again.', false, 422),
  ('upload_quota_exceeded', 'Your unfinished uploads take too much space. Submit or delete them first; unused uploads are removed after a day.', false, 413),
  ('invalid_options', 'Some of the chosen options are not valid.', false, 400),
  ('invalid_filename', 'The file name is missing or too long.', false, 400),
  ('invalid_media', 'The uploaded media description is incomplete.', false, 400),
  ('media_outside_folder', 'The media must be uploaded to your own folder.', false, 403),
  ('unreadable_media', 'We could not read this recording. The file may be damaged or in an unsupported format: check that it plays, or convert it to MP4, MP3 or WAV, and try again.', false, 422),
  ('no_audio', 'This file has no sound track to transcribe. Choose a recording with sound.', false, 422),
  ('empty_audio', 'The sound track of this file is empty. Choose a recording with sound.', false, 422),
  ('unsupported_codec', 'The sound of this file is in a format we cannot read. Convert it to AAC (MP4 or M4A), MP3 or WAV and try again.', false, 422),
  ('media_too_long', 'This recording is longer than we can process.', false, 400),
  ('media_too_large', 'This file is too big to upload in one piece; upload it as 10-minute chunks with a chunk manifest.', false, 413),
  ('unsupported_language', 'This language is not supported.', false, 400),
  ('needs_provider', 'No transcription service is configured for this option.', false, 422),
  ('provider_refused', 'The transcription service refused this recording.', false, 422),
  ('provider_auth', 'The transcription service rejected our credentials. Please try again later.', false, 503),
  ('rate_limited', 'The transcription service is busy. We will keep trying.', true, 503),
  ('provider_timeout', 'The transcription service took too long to answer.', true, 504),
  ('provider_unavailable', 'The transcription service is unavailable right now.', true, 503),
  ('network_error', 'A connection problem interrupted processing.', true, 503),
  ('malformed_output', 'The transcription service returned something we could not use.', true, 502),
  ('no_speech', 'We could not hear any speech in this recording.', false, 422),
  ('stale_heartbeat', 'Processing stopped responding.', true, 503),
  ('dispatch_failed', 'Processing could not be started.', true, 503),
  ('service_unreachable', 'Our processing service could not be reached for a long time. Please retry later.', false, 503),
  ('attempts_exhausted', 'We tried several times and could not finish this recording. Please retry later.', false, 503),
  ('cancelled', 'This job was cancelled.', false, 409),
  ('not_found', 'This job does not exist or you cannot see it.', false, 404),
  ('share_not_found', 'This share link is not valid.', false, 404),
  ('invalid_state', 'This job cannot do that in its current state.', false, 409),
  ('not_signed_in', 'Please sign in first.', false, 401),
  ('internal', 'Something went wrong on our side.', false, 500)
on conflict (code) do update
  set message = excluded.message, retryable = excluded.retryable, http_status = excluded.http_status;

-- The friendly message of a code, falling back to the generic one for an unknown code.
create function private.error_message(error_code text) returns text
language sql stable security definer set search_path = ''
as $$
  select replace(replace(
    coalesce(
      (select message from private.error_codes where code = error_code),
      (select message from private.error_codes where code = 'internal')
    ),
    '{limit}',
    (select active_job_limit::text from private.settings)),
    '{user_limit}',
    (select per_user_active_limit::text from private.settings)
  )
$$;

-- Raises a user-facing error: SQLSTATE PT<http status> (the REST gateway answers with that
-- status), the message prefixed by the field it is about, the stable code in HINT and the
-- field in DETAIL, so a client can switch on the code and show the message as is.
create function private.raise_error(error_code text, field text default null, reason text default null)
returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  status integer := coalesce(
    (select http_status from private.error_codes where code = error_code), 500);
  text_ text := coalesce(reason, private.error_message(error_code));
begin
  raise exception using
    errcode = 'PT' || status::text,
    message = case when field is null then text_ else field || ': ' || text_ end,
    detail = coalesce(field, ''),
    hint = error_code;
end;
$$;

-- A Vault secret by name (null when missing).
create function private.secret(secret_name text) returns text
language plpgsql stable security definer set search_path = ''
as $$
begin
  return (select decrypted_secret from vault.decrypted_secrets where name = secret_name limit 1);
end;
$$;
