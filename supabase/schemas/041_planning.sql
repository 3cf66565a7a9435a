-- Planning: which tasks a job's steps get, when a job is complete, its progress and stage
-- message, and what each task gets from the steps before it (private.steps, 040).

-- The helpers below run for every task a job has (planning, claim, progress), so they are
-- plpgsql: a SQL-language function with a SET clause is never inlined and is planned again at
-- every call, where plpgsql keeps its plans for the connection (plan_steps went from 1.9 to
-- 0.3 ms a call, task_input from 0.6 to 0.2 ms).

-- Whether a step's when_option holds for a job: true, or a non-empty list (translate_to); a
-- step without one always runs.
create function private.option_on(job public.jobs, option text) returns boolean
language plpgsql immutable set search_path = ''
as $$
begin
  return option is null or coalesce(case jsonb_typeof(job.options -> option)
    when 'boolean' then (job.options -> option)::boolean
    when 'array' then jsonb_array_length(job.options -> option) > 0
  end, false);
end;
$$;

-- The array a mapped step runs over for a job (null for a step that runs once, or while the
-- step it maps over has not completed).
create function private.step_elements(job public.jobs, s private.steps) returns jsonb
language plpgsql stable set search_path = ''
as $$
begin
  if s.map_over is null then return null; end if;
  if split_part(s.map_over, '.', 1) = 'options' then
    return job.options -> split_part(s.map_over, '.', 2);
  end if;
  return (select p.output -> split_part(s.map_over, '.', 2) from private.tasks p
          where p.job_id = job.id and p.step = split_part(s.map_over, '.', 1) and p.key = ''
            and p.status = 'completed');
end;
$$;

-- The tasks a step has for a job (key, chunk_index, params); none means the step is skipped.
create function private.step_instances(job public.jobs, s private.steps)
returns table (key text, chunk_index integer, params jsonb)
language plpgsql stable set search_path = ''
as $$
declare
  elements jsonb;
begin
  if not private.option_on(job, s.when_option) then return; end if;
  if s.map_over is null then
    return query select ''::text, null::integer, '{}'::jsonb;
    return;
  end if;
  elements := private.step_elements(job, s);
  if jsonb_typeof(elements) is distinct from 'array' then return; end if;
  return query
    select coalesce(e ->> 'index', e #>> '{}'), (e ->> 'index')::integer, jsonb_build_object(s.map_as, e)
    from jsonb_array_elements(elements) e;
end;
$$;

-- Whether a step applies to a job at all (known from its options, before any task exists).
create function private.step_applies(job public.jobs, s private.steps) returns boolean
language plpgsql stable set search_path = ''
as $$
begin
  return private.option_on(job, s.when_option)
    and (split_part(coalesce(s.map_over, ''), '.', 1) <> 'options'
         or coalesce(jsonb_array_length(private.step_elements(job, s)), 0) > 0);
end;
$$;

-- Plans every step whose predecessors are done, walking the steps in order. Returns true when
-- every step is done, i.e. the job is complete.
create function private.plan_steps(job_id uuid) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs;
  s private.steps;
  done text[] := '{}'::text[];
  n_tasks integer;
  n_open integer;
  n_new integer;
begin
  select * into job from public.jobs j where j.id = plan_steps.job_id;
  for s in select * from private.steps order by position loop
    select count(*), count(*) filter (where t.status <> 'completed')
      into n_tasks, n_open
      from private.tasks t where t.job_id = job.id and t.step = s.step;
    if n_tasks > 0 then
      if n_open = 0 then done := done || s.step; end if;
    elsif s.after <@ done then
      insert into private.tasks (job_id, step, key, chunk_index, params)
      select job.id, s.step, i.key, i.chunk_index, i.params
      from private.step_instances(job, s) i;
      get diagnostics n_new = row_count;
      if n_new = 0 then done := done || s.step; end if;  -- skipped for this job
    end if;
  end loop;
  return (select count(*) from private.steps) = coalesce(array_length(done, 1), 0);
end;
$$;

-- Job progress 0-100 from step weights: a step counts by its completed tasks plus the
-- progress reported by its running ones; steps that do not apply to the job weigh nothing.
create function private.job_progress(job_id uuid) returns smallint
language plpgsql stable security definer set search_path = ''
as $$
begin
  return (
    with job as (select * from public.jobs j where j.id = job_progress.job_id),
    per_step as (
      select s.weight,
        (select avg(case when t.status = 'completed' then 1 else t.progress end)
         from private.tasks t where t.job_id = job.id and t.step = s.step) as fraction
      from job, private.steps s
      where private.step_applies(job, s)
    )
    select least(100, greatest(0, floor(
      100 * sum(weight * coalesce(fraction, 0)) / nullif(sum(weight), 0))))::smallint
    from per_step);
end;
$$;

-- The human-readable stage message of a task ("Transcribing chunk 3 of 18").
create function private.stage_message(task private.tasks) returns text
language plpgsql stable security definer set search_path = ''
as $$
begin
  return (select replace(replace(replace(s.label,
    '%1', coalesce((task.chunk_index + 1)::text, '')),
    '%2', (select count(*)::text from private.tasks t where t.job_id = task.job_id and t.step = task.step)),
    '%3', task.key)
  from private.steps s where s.step = task.step);
end;
$$;

-- What a claimed task needs besides the job, the way pgflow feeds a step: its own params and,
-- under each predecessor's name, that step's output (a step that ran once) or, for a mapped
-- one, the array of its tasks' params merged with their outputs, in order.
create function private.task_input(task private.tasks) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  return task.params || coalesce((
    select jsonb_object_agg(d.step, d.value)
    from (
      select p.step,
             case when p.map_over is null then (array_agg(t.output))[1]
                  else jsonb_agg(t.params || t.output order by t.chunk_index, t.key) end as value
      from private.steps s
      join private.steps p on p.step = any (s.after)
      join private.tasks t on t.job_id = task.job_id and t.step = p.step and t.status = 'completed'
      where s.step = task.step
      group by p.step, p.map_over
    ) d), '{}'::jsonb);
end;
$$;
