-- What a user can do to jobs besides inserting them: cancel, retry, delete, share, revoke a
-- share, open a share link, read a shared job, and read the queue, an estimate and their
-- statistics. authenticated only.

-- The caller's own visible job, locked; not_found otherwise (another user's job included).
create function private.own_job(job_id uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs;
begin
  select * into job from public.jobs j
   where j.id = own_job.job_id and j.owner_id = auth.uid() and j.deleted_at is null
  for update;
  if not found then
    perform private.raise_error('not_found', 'job_id');
  end if;
  return job;
end;
$$;

-- Cancels a job that has not ended (private.stop_jobs).
create function public.cancel_job(job_id uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := private.own_job(job_id);
begin
  if job.status not in ('pending', 'processing') then
    perform private.raise_error('invalid_state', 'status', 'only a pending or processing job can be cancelled');
  end if;
  perform private.stop_jobs(array[job.id], remove => false);
  select * into job from public.jobs j where j.id = job.id;
  return job;
end;
$$;

-- Sends a failed job back to pending with the same settings. Completed tasks are checkpoints
-- and are not redone; failed and stopped ones start again with fresh attempts.
create function public.retry_job(job_id uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := private.own_job(job_id);
begin
  if job.status <> 'failed' then
    perform private.raise_error('invalid_state', 'status', 'only a failed job can be retried');
  end if;
  perform private.reserve_active_slot(job.owner_id);
  update private.tasks t
     set status = 'pending', attempts = 0, not_before = null, lease = null, request_id = null,
         unreachable_since = null, progress = 0, error_code = null, error_message = null,
         error_detail = null
   where t.job_id = job.id and t.status in ('failed', 'cancelled');
  update public.jobs j
     set status = 'pending', attempts = j.attempts + 1, error_code = null, error_message = null,
         completed_at = null, stage_message = 'Waiting to resume'
   where j.id = job.id;
  perform private.plan_steps(job.id);
  perform private.dispatch_due();
  select * into job from public.jobs j where j.id = retry_job.job_id;
  return job;
end;
$$;

-- Deletes one of the caller's jobs: stopped if running, hidden at once and handed to cleanup
-- (private.stop_jobs).
create function public.delete_job(job_id uuid) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := private.own_job(job_id);
begin
  perform private.stop_jobs(array[job.id], remove => true);
end;
$$;

-- The share link token of one of the caller's jobs (the same token every time, until it is
-- revoked; then a new one).
create function public.share_job(job_id uuid) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := private.own_job(job_id);
  share_token text;
begin
  insert into private.job_shares (job_id, token)
  values (job.id, encode(extensions.gen_random_bytes(24), 'hex'))
  on conflict do nothing;
  select s.token into share_token from private.job_shares s where s.job_id = job.id;
  return share_token;
end;
$$;

-- Opens a share link: the caller becomes a viewer of the job (read access to the job, its
-- outputs and its Realtime topic). Returns the job id.
create function public.open_shared_job(token text) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
  shared_job uuid;
begin
  if auth.uid() is null then
    perform private.raise_error('not_signed_in');
  end if;
  select s.job_id into shared_job
    from private.job_shares s join public.jobs j on j.id = s.job_id
   where s.token = open_shared_job.token and j.deleted_at is null and j.expires_at > now();
  if shared_job is null then
    perform private.raise_error('share_not_found', 'token');
  end if;
  insert into private.viewers (job_id, user_id)
  select shared_job, auth.uid()
  where not exists (select 1 from public.jobs j where j.id = shared_job and j.owner_id = auth.uid())
  on conflict do nothing;
  return shared_job;
end;
$$;

-- Revokes the share link of one of the caller's jobs: the token stops opening it and everyone
-- who opened it loses access at once (the job, its outputs, its Realtime topic). share_job then
-- makes a new token.
create function public.revoke_share(job_id uuid) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := private.own_job(job_id);
begin
  delete from private.job_shares s where s.job_id = job.id;
  delete from private.viewers v where v.job_id = job.id;
end;
$$;

-- What the shared page shows of a job (its file name, status, progress and times): the same
-- fields its `job:<id>` Realtime topic carries, never its media description, options or owner.
-- plpgsql (its plan kept per connection): it runs for every broadcast of every job change.
create function private.shared_fields(job public.jobs) returns jsonb
language plpgsql stable set search_path = ''
as $$
begin
  return jsonb_build_object('id', job.id, 'filename', job.filename, 'status', job.status,
    'stage', job.stage, 'stage_message', job.stage_message, 'progress', job.progress,
    'error_code', job.error_code, 'error_message', job.error_message,
    'created_at', job.created_at, 'started_at', job.started_at,
    'completed_at', job.completed_at, 'expires_at', job.expires_at,
    'deleted_at', job.deleted_at,
    -- Which of the outputs' languages are translations (the viewer lists the original first);
    -- the languages are the outputs' anyway, nothing else of the options is shown.
    'translate_to', coalesce(job.options -> 'translate_to', '[]'::jsonb));
end;
$$;

-- A job the caller may view (own, or opened through a share link), as the shared page shows it,
-- with the Realtime topic the caller listens on for its changes (080_realtime.sql); not_found
-- otherwise. Its outputs are read from job_outputs.
create function public.shared_job(job_id uuid) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  job public.jobs;
begin
  if not private.can_view_job(shared_job.job_id) then
    perform private.raise_error('not_found', 'job_id');
  end if;
  select * into job from public.jobs j where j.id = shared_job.job_id;
  return private.shared_fields(job) || jsonb_build_object('topic', case
    when job.owner_id = auth.uid() then 'job:' || job.id
    else (select 'job:' || job.id || ':' || s.topic_key from private.job_shares s
          where s.job_id = job.id) end);
end;
$$;

-- Whether a submission would be accepted now, for the upload page: the global limit and the
-- caller's own.
create function public.queue_status() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with q as (
    select (select count(*) from public.jobs where status in ('pending', 'processing'))::integer as active,
           (select count(*) from public.jobs
            where owner_id = auth.uid() and status in ('pending', 'processing'))::integer as mine,
           (select active_job_limit from private.settings) as job_limit,
           (select per_user_active_limit from private.settings) as user_limit
  )
  select jsonb_build_object('active', active, 'limit', job_limit, 'mine', mine,
    'user_limit', user_limit, 'accepting', active < job_limit and mine < user_limit,
    'message', case when mine >= user_limit then private.error_message('user_queue_full')
                    when active >= job_limit then private.error_message('queue_full') end)
  from q
$$;

-- Time remaining for a job the caller can see, from the processing time per media second of
-- recent completed jobs; without a duration, from recent jobs of a similar size; else a default.
-- The seed's size buckets for estimates: '0-100MB', '100-500MB', '500MB+' (MB = 1,000,000 bytes).
create function private.size_bucket(bytes numeric) returns text
language sql immutable set search_path = ''
as $$
  select case when coalesce(bytes, 0) < 100e6 then '0-100MB'
              when bytes < 500e6 then '100-500MB' else '500MB+' end
$$;

create function public.estimate_job(job_id uuid) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  cfg private.settings;
  job public.jobs;
  duration numeric;
  per_second numeric;
  total numeric;
  basis text;
  bucket text;
begin
  select * into cfg from private.settings;
  if not private.can_view_job(job_id) then
    perform private.raise_error('not_found', 'job_id');
  end if;
  select * into job from public.jobs j where j.id = estimate_job.job_id;
  if job.status not in ('pending', 'processing') then
    return jsonb_build_object('seconds_remaining', 0, 'basis', 'finished');
  end if;
  duration := (job.media ->> 'duration')::numeric;
  bucket := private.size_bucket((job.media ->> 'bytes')::numeric);

  -- The seed's rule: the average processing time of recent past jobs of the same size bucket.
  select avg(extract(epoch from j.completed_at - j.started_at)) into total
    from (select * from public.jobs j
          where j.status = 'completed' and j.cached_from is null and j.started_at is not null
          order by j.completed_at desc limit 200) j
   where private.size_bucket((j.media ->> 'bytes')::numeric) = bucket;
  basis := 'size_bucket';
  if total is null then
    -- No past job of that size: processing seconds per media second of recent jobs.
    with recent as (
      select extract(epoch from j.completed_at - j.started_at) as seconds,
             (j.media ->> 'duration')::numeric as media_seconds
      from public.jobs j
      where j.status = 'completed' and j.cached_from is null and j.started_at is not null
      order by j.completed_at desc limit 50
    )
    select sum(seconds) / nullif(sum(media_seconds), 0) into per_second
      from recent where media_seconds > 0;
    if duration > 0 and per_second is not null then
      total := per_second * duration;
      basis := 'history';
    elsif duration > 0 then
      total := cfg.default_seconds_per_media_second * duration;
      basis := 'default';
    end if;
  end if;
  if total is null then
    return jsonb_build_object('seconds_remaining', null, 'basis', 'unknown');
  end if;
  return jsonb_build_object(
    'seconds_remaining', ceil(total * (1 - job.progress / 100.0))::integer, 'basis', basis,
    'bucket', bucket);
end;
$$;

-- The caller's jobs by status, media minutes transcribed, average processing time.
create function public.my_stats() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with mine as (
    select * from public.jobs j where j.owner_id = auth.uid() and j.deleted_at is null
  )
  select jsonb_build_object(
    'total', (select count(*) from mine),
    'by_status', (select jsonb_object_agg(s, (select count(*) from mine where status = s))
                  from unnest(array['pending', 'processing', 'completed', 'failed', 'cancelled']) s),
    'media_minutes', (select round(coalesce(sum((media ->> 'duration')::numeric), 0) / 60, 1)
                      from mine where status = 'completed'),
    'average_processing_seconds', (select round(avg(extract(epoch from completed_at - started_at)))
                                   from mine where status = 'completed' and cached_from is null))
$$;

-- The stage checklist of a job the caller can see: one entry per step that applies to it (one
-- per element for a step mapped over an option, e.g. per language for translate), in pipeline
-- order, with the label and unit the UI shows and its tasks planned, completed and in flight.
-- A step not planned yet has total 0 (e.g. transcribe before prepare knows the chunks).
create function public.job_steps(job_id uuid) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  job public.jobs;
begin
  if not private.can_view_job(job_id) then
    perform private.raise_error('not_found', 'job_id');
  end if;
  select * into job from public.jobs j where j.id = job_steps.job_id;
  return coalesce((
    select jsonb_agg(jsonb_build_object('step', c.step, 'label', c.checklist_label,
        'unit', c.checklist_unit, 'language', c.language, 'total', c.total,
        'completed', c.completed, 'running', c.running) order by c.position, c.language)
    from (
      select s.step, s.position, s.checklist_label, s.checklist_unit, l.language,
             count(t.id) as total,
             count(t.id) filter (where t.status = 'completed') as completed,
             count(t.id) filter (where t.status in ('dispatched', 'running')) as running
      from private.steps s
      left join lateral (
        select e as language
        from jsonb_array_elements_text(job.options -> split_part(s.map_over, '.', 2)) e
        where split_part(s.map_over, '.', 1) = 'options'
      ) l on true
      left join private.tasks t
        on t.job_id = job.id and t.step = s.step and (l.language is null or t.key = l.language)
      where private.step_applies(job, s)
      group by s.step, s.position, s.checklist_label, s.checklist_unit, l.language
    ) c), '[]'::jsonb);
end;
$$;

revoke execute on function public.cancel_job(uuid), public.retry_job(uuid), public.delete_job(uuid),
  public.share_job(uuid), public.revoke_share(uuid), public.open_shared_job(text),
  public.shared_job(uuid), public.queue_status(),
  public.estimate_job(uuid), public.my_stats(), public.job_steps(uuid)
  from public, anon;
grant execute on function public.cancel_job(uuid), public.retry_job(uuid), public.delete_job(uuid),
  public.share_job(uuid), public.revoke_share(uuid), public.open_shared_job(text),
  public.shared_job(uuid), public.queue_status(),
  public.estimate_job(uuid), public.my_stats(), public.job_steps(uuid)
  to authenticated;
