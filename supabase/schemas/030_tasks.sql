-- private.tasks: one row per step (and per chunk or language) of a job, the unit the step
-- functions claim. private.events: the append-only record of every transition.

create table private.tasks (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references public.jobs (id) on delete cascade,
  step text not null,
  -- '' for a step that runs once; the chunk index for transcribe; the language for translate.
  key text not null default '',
  chunk_index integer,
  -- What the step needs beyond the job: the chunk for transcribe, the language for translate.
  params jsonb not null default '{}'::jsonb,
  -- pending: planned, waiting for its turn (caps) or its retry time (not_before);
  -- dispatched: sent with pg_net, waiting for a claim; running: claimed, lease live;
  -- completed (output is its checkpoint), failed, cancelled.
  status text not null default 'pending'
    check (status in ('pending', 'dispatched', 'running', 'completed', 'failed', 'cancelled')),
  attempts integer not null default 0,
  lease uuid,
  request_id bigint,
  dispatched_at timestamptz,
  claimed_at timestamptz,
  heartbeat_at timestamptz,
  not_before timestamptz,
  -- Since when the step function has been unreachable for this task (see fail_task_now);
  -- null once a dispatch reaches it.
  unreachable_since timestamptz,
  progress real not null default 0 check (progress between 0 and 1),
  message text,
  output jsonb,
  error_code text,
  error_message text,
  error_detail jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  updated_at timestamptz not null default now(),
  -- The step contract version this task was planned under (CONTRACT_VERSIONS in
  -- supabase/functions/_shared/engine/contract.ts; CHANGELOG.md): its input and output shapes.
  contract integer not null default 1 check (contract > 0),
  unique (job_id, step, key)
);

-- Stale scan (running tasks by heartbeat), lost dispatches, due retries, in-flight counts.
create index tasks_running_heartbeat_idx on private.tasks (heartbeat_at) where status = 'running';
create index tasks_dispatched_idx on private.tasks (dispatched_at) where status = 'dispatched';
create index tasks_pending_due_idx on private.tasks (not_before nulls first) where status = 'pending';
create index tasks_job_idx on private.tasks (job_id, step);
-- Tasks in flight, which dispatch_due counts at every dispatch (in all, per job, per owner, per
-- step): without it, each dispatch read every task kept (seven days of them).
create index tasks_in_flight_idx on private.tasks (job_id) where status in ('dispatched', 'running');

create trigger tasks_touch before update on private.tasks
  for each row execute function private.touch_updated_at();

-- Append-only: rows are only ever inserted. No foreign key, so the record of a job outlives
-- its purge.
create table private.events (
  id bigint generated always as identity primary key,
  job_id uuid not null,
  task_id uuid,
  kind text not null,
  from_status text,
  to_status text,
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default clock_timestamp()
);
create index events_job_idx on private.events (job_id, id);

-- Append-only, except for the retention run removing events past events_retention.
create function private.forbid_event_changes() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if tg_op = 'DELETE'
     and old.created_at < now() - (select s.events_retention from private.settings s) then
    return old;
  end if;
  raise exception 'private.events is append-only';
end;
$$;

create trigger events_append_only before update or delete on private.events
  for each row execute function private.forbid_event_changes();

-- Every transition of a job or a task writes its event here, so none can be forgotten.
create function private.record_job_event() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into private.events (job_id, kind, to_status, detail)
    values (new.id, case when new.cached_from is null then 'job.submitted' else 'job.cached' end,
      new.status, jsonb_build_object('cached_from', new.cached_from));
  elsif old.status is distinct from new.status then
    insert into private.events (job_id, kind, from_status, to_status, detail)
    values (new.id, 'job.' || new.status, old.status, new.status,
      jsonb_strip_nulls(jsonb_build_object('error_code', new.error_code, 'attempts', new.attempts)));
  elsif old.deleted_at is null and new.deleted_at is not null then
    insert into private.events (job_id, kind, from_status, to_status)
    values (new.id, 'job.deleted', old.status, new.status);
  end if;
  return null;
end;
$$;

create trigger jobs_record_event after insert or update on public.jobs
  for each row execute function private.record_job_event();

create function private.record_task_event() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into private.events (job_id, task_id, kind, to_status, detail)
    values (new.job_id, new.id, 'task.planned', new.status,
      jsonb_build_object('step', new.step, 'key', new.key));
  elsif old.status is distinct from new.status
     or old.request_id is distinct from new.request_id
     or old.attempts is distinct from new.attempts then
    insert into private.events (job_id, task_id, kind, from_status, to_status, detail)
    values (new.job_id, new.id,
      case when old.status = new.status then 'task.redispatched' else 'task.' || new.status end,
      old.status, new.status,
      jsonb_strip_nulls(jsonb_build_object(
        'step', new.step, 'key', new.key, 'attempt', new.attempts, 'request_id', new.request_id,
        'not_before', new.not_before,
        'error_code', case when new.status in ('pending', 'failed') then new.error_code end,
        'error', case when new.status in ('pending', 'failed') then new.error_message end,
        'error_detail', case when new.status in ('pending', 'failed') then new.error_detail end)));
  end if;
  return null;
end;
$$;

create trigger tasks_record_event after insert or update on private.tasks
  for each row execute function private.record_task_event();
