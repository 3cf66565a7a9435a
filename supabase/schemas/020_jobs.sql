-- public.jobs: one row per submitted recording, visible to its owner (and to viewers of a
-- share link). Clients insert filename, media and options; every other column is the engine's.

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  filename text not null,
  -- {path, bytes, sha256, duration}: storage path (in bucket `media`) of the chunk manifest or
  -- of a single file, its size, the SHA-256 of the source recording, its duration in seconds.
  media jsonb not null,
  -- Normalised by the submit trigger to every key with its default (see README).
  options jsonb not null default '{}'::jsonb,
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  stage text,
  stage_message text,
  progress smallint not null default 0 check (progress between 0 and 100),
  attempts integer not null default 0,
  error_code text,
  error_message text,
  cached_from uuid references public.jobs (id) on delete set null,
  cached_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  -- Set by delete_job: the row is hidden at once and handed to the cleanup function.
  deleted_at timestamptz
);

comment on table public.jobs is
  'One row per submitted recording. Insert (filename, media, options) to submit.';

-- Own jobs, newest first (the list view and its filters).
create index jobs_owner_created_idx on public.jobs (owner_id, created_at desc) where deleted_at is null;
-- Active jobs (the global limit).
create index jobs_active_idx on public.jobs (created_at) where status in ('pending', 'processing');
-- Retention and deletion (hourly cleanup).
create index jobs_expires_idx on public.jobs (expires_at);
-- Deduplication: the same owner's completed result for the same recording.
create index jobs_dedup_idx on public.jobs (owner_id, (media ->> 'sha256'), completed_at desc)
  where status = 'completed' and deleted_at is null;
create index jobs_cached_from_idx on public.jobs (cached_from) where cached_from is not null;
-- Deleting a user (e.g. removing old anonymous users) deletes their jobs: the foreign key needs
-- an index of its own, jobs_owner_created_idx leaves out deleted jobs.
create index jobs_owner_idx on public.jobs (owner_id);

create function private.touch_updated_at() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.updated_at := clock_timestamp();
  return new;
end;
$$;

create trigger jobs_touch before update on public.jobs
  for each row execute function private.touch_updated_at();

-- Outputs of a completed job (SRT, WebVTT, TTML, text, JSON, summary), one per language and format.
create table public.job_outputs (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references public.jobs (id) on delete cascade,
  language text not null,
  format text not null check (format in ('srt', 'vtt', 'ttml', 'txt', 'json', 'summary')),
  content text not null,
  created_at timestamptz not null default now(),
  unique (job_id, language, format)
);

-- Viewers: users who opened a share link of a job (all removed when the link is revoked).
create table private.viewers (
  job_id uuid not null references public.jobs (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  granted_at timestamptz not null default now(),
  primary key (job_id, user_id)
);
create index viewers_user_idx on private.viewers (user_id);

-- Share tokens: readable by the owner only, through share_job; revoke_share deletes one.
-- topic_key names the Realtime topic the link's viewers listen on (`job:<id>:<topic_key>`,
-- 080_realtime.sql): Realtime checks a channel's policies only at join and token refresh, so a
-- revoked viewer still joined must be left on a topic that gets nothing more.
create table private.job_shares (
  job_id uuid primary key references public.jobs (id) on delete cascade,
  token text not null unique,
  created_at timestamptz not null default now(),
  topic_key text not null default encode(extensions.gen_random_bytes(16), 'hex')
);

-- Whether the caller may read a job: its owner, or a viewer of its share link; nobody once the
-- job is deleted or past its retention (at once, not when cleanup gets to it).
create function private.can_view_job(job uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j
    where j.id = job and j.deleted_at is null and j.expires_at > now()
      and (j.owner_id = auth.uid()
        or exists (select 1 from private.viewers v where v.job_id = j.id and v.user_id = auth.uid()))
  )
$$;


-- Access: RLS plus column grants. Clients insert three columns and read their own rows; a
-- share link's viewer reads what the shared page shows through shared_job (070_user_rpcs.sql),
-- never the row itself (its media description and owner stay the owner's). Every state change
-- goes through the RPCs.
alter table public.jobs enable row level security;
alter table public.job_outputs enable row level security;

revoke all on public.jobs, public.job_outputs from anon, authenticated;
grant select on public.jobs, public.job_outputs to authenticated;
grant insert (filename, media, options) on public.jobs to authenticated;
grant all on public.jobs, public.job_outputs to service_role;

create policy jobs_select_own on public.jobs
  for select to authenticated
  using (owner_id = (select auth.uid()) and deleted_at is null and expires_at > now());

create policy jobs_insert_own on public.jobs
  for insert to authenticated
  with check (owner_id = (select auth.uid()));

create policy job_outputs_select_own_or_shared on public.job_outputs
  for select to authenticated
  using (private.can_view_job(job_id));
