-- Step hooks: what completing a step does besides planning the next ones (private.steps
-- on_complete, run by complete_task in 060_step_api.sql).

-- prepare: checks the chunks transcribe maps over and records the media's duration on the job.
create function private.plan_chunks(task private.tasks, output jsonb) returns text
language plpgsql security definer set search_path = ''
as $$
begin
  if jsonb_typeof(output -> 'chunks') is distinct from 'array'
     or jsonb_array_length(output -> 'chunks') = 0 then
    return 'prepare must return a non-empty chunks array';
  end if;
  if exists (
      select 1 from jsonb_array_elements(output -> 'chunks') with ordinality c(chunk, n)
      where not (chunk ? 'path' and chunk ? 'start' and chunk ? 'end')
         or (chunk ->> 'index') is distinct from (n - 1)::text) then
    return 'each chunk needs index (0, 1, ...), path, start and end';
  end if;
  if output ? 'duration' then
    update public.jobs j set media = j.media || jsonb_build_object('duration', output -> 'duration')
     where j.id = task.job_id;
  end if;
  return null;
end;
$$;

-- render: stores the job's downloadable outputs.
create function private.store_outputs(task private.tasks, output jsonb) returns text
language plpgsql security definer set search_path = ''
as $$
begin
  if jsonb_typeof(output -> 'outputs') is distinct from 'array' then
    return 'render must return an outputs array';
  end if;
  if exists (
      select 1 from jsonb_array_elements(output -> 'outputs') o
      where jsonb_typeof(o -> 'language') is distinct from 'string'
         or coalesce(o ->> 'format', '') not in ('srt', 'vtt', 'ttml', 'txt', 'json', 'summary')
         or jsonb_typeof(o -> 'content') is distinct from 'string') then
    return 'each output needs language, format (srt, vtt, ttml, txt, json, summary) and content';
  end if;
  insert into public.job_outputs (job_id, language, format, content)
  select task.job_id, o ->> 'language', o ->> 'format', o ->> 'content'
  from jsonb_array_elements(output -> 'outputs') o
  on conflict (job_id, language, format) do update set content = excluded.content;
  return null;
end;
$$;
