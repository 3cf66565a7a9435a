-- Edited transcripts (revisions) and the transcript so far of a job still running.
--
-- A revision is one language's transcript as its owner edited it in the viewer. Revision 0 is
-- the pipeline's original, stored when the first edit is saved, so it can always be restored.
-- Saving goes through the `revise` Edge Function: it authenticates the caller, validates the
-- transcript, renders every caption format with the same captions module as the render step
-- (one implementation of the caption rules), then calls public.store_revision with the service
-- role, which checks ownership again and replaces that language's outputs in one transaction.
-- Downloads and share viewers read job_outputs, so they get the latest revision.

insert into private.error_codes (code, message, retryable, http_status) values
  ('invalid_transcript', 'The edited transcript is not valid.', false, 400);

create table public.job_revisions (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references public.jobs (id) on delete cascade,
  language text not null,
  revision integer not null check (revision >= 0),
  -- The Transcript (supabase/functions/_shared/transcript.ts) of this revision.
  transcript jsonb not null check (jsonb_typeof(transcript) = 'object'),
  -- Set when this revision restores an earlier one.
  restored_from integer,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  unique (job_id, language, revision)
);
-- Deleting a user clears created_by of their revisions.
create index job_revisions_created_by_idx on public.job_revisions (created_by)
  where created_by is not null;

alter table public.job_revisions enable row level security;
revoke all on public.job_revisions from anon, authenticated;
grant select on public.job_revisions to authenticated;
grant all on public.job_revisions to service_role;

-- Only the owner sees revisions (a share viewer sees the latest outputs, not the history).
create policy job_revisions_select_own on public.job_revisions
  for select to authenticated
  using (exists (select 1 from public.jobs j where j.id = job_id and j.owner_id = (select auth.uid())));

-- Stores a revision rendered by the revise function and makes its outputs the job's outputs.
-- `original` is the pipeline's transcript, kept as revision 0 the first time; `outputs` is an
-- array of {format, content} for `language` (every caption format, nothing else).
create function public.store_revision(
  job_id uuid, owner_id uuid, language text, transcript jsonb, original jsonb, outputs jsonb,
  restored_from integer default null
) returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs;
  next_revision integer;
  item jsonb;
begin
  select * into job from public.jobs j where j.id = store_revision.job_id for update;
  if not found or job.owner_id is distinct from store_revision.owner_id then
    perform private.raise_error('not_found', 'job_id');
  end if;
  if job.status <> 'completed' then
    perform private.raise_error('invalid_state', 'job_id', 'only a completed job can be edited');
  end if;
  if not exists (select 1 from public.job_outputs o
                  where o.job_id = job.id and o.language = store_revision.language and o.format = 'json') then
    perform private.raise_error('not_found', 'language', 'the job has no transcript in this language');
  end if;
  if jsonb_typeof(outputs) <> 'array'
     or (select array_agg(o ->> 'format' order by o ->> 'format') from jsonb_array_elements(outputs) o)
        is distinct from array['json', 'srt', 'ttml', 'txt', 'vtt']
     or exists (select 1 from jsonb_array_elements(outputs) o where jsonb_typeof(o -> 'content') <> 'string') then
    perform private.raise_error('invalid_transcript', 'outputs', 'must hold json, srt, ttml, txt and vtt once each');
  end if;

  perform pg_advisory_xact_lock(hashtextextended(job.id::text || '/revisions', 0));
  if not exists (select 1 from public.job_revisions r
                  where r.job_id = job.id and r.language = store_revision.language) then
    insert into public.job_revisions (job_id, language, revision, transcript, created_by)
    values (job.id, store_revision.language, 0, original, null);
  end if;
  select max(r.revision) + 1 into next_revision from public.job_revisions r
   where r.job_id = job.id and r.language = store_revision.language;
  insert into public.job_revisions (job_id, language, revision, transcript, restored_from, created_by)
  values (job.id, store_revision.language, next_revision, transcript, store_revision.restored_from, owner_id);

  for item in select value from jsonb_array_elements(outputs) loop
    insert into public.job_outputs as o (job_id, language, format, content)
    values (job.id, store_revision.language, item ->> 'format', item ->> 'content')
    on conflict on constraint job_outputs_job_id_language_format_key
      do update set content = excluded.content, created_at = now();
  end loop;
  return next_revision;
end;
$$;

revoke execute on function public.store_revision(uuid, uuid, text, jsonb, jsonb, jsonb, integer)
  from public, anon, authenticated;
grant execute on function public.store_revision(uuid, uuid, text, jsonb, jsonb, jsonb, integer)
  to service_role;

-- The transcript so far of a job still running: every finished transcribe chunk's transcript,
-- in order (times are already from the start of the recording). The owner only; a share
-- viewer waits for the result.
create function public.partial_transcript(job_id uuid) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  job public.jobs;
begin
  select * into job from public.jobs j where j.id = partial_transcript.job_id;
  if not found or job.owner_id is distinct from (select auth.uid()) then
    perform private.raise_error('not_found', 'job_id');
  end if;
  return jsonb_build_object(
    'status', job.status,
    'chunks', (select count(*) from private.tasks t where t.job_id = job.id and t.step = 'transcribe'),
    'segments', coalesce((
      select jsonb_agg(s.segment order by t.chunk_index, s.n)
        from private.tasks t,
             jsonb_array_elements(t.output -> 'transcript' -> 'segments') with ordinality s(segment, n)
       where t.job_id = job.id and t.step = 'transcribe' and t.status = 'completed'), '[]'::jsonb),
    'completed_chunks', (select count(*) from private.tasks t
                          where t.job_id = job.id and t.step = 'transcribe' and t.status = 'completed'));
end;
$$;

revoke execute on function public.partial_transcript(uuid) from public, anon;
grant execute on function public.partial_transcript(uuid) to authenticated;
