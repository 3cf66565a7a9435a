-- step_contract_version
-- Written by `deno task db:diff step_contract_version` (@supabase/pg-delta 1.0.0-alpha.34): what takes a database from
-- the migrations before it to supabase/schemas. Review it; data changes are written by hand.

set local check_function_bodies = off;

ALTER TABLE "private"."tasks" ADD COLUMN "contract" integer NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION public.claim_task(task_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  cfg private.settings;
  task private.tasks;
  job public.jobs;
begin
  perform private.lock_job_of_task(claim_task.task_id);
  update private.tasks t
     set status = 'running', lease = gen_random_uuid(), claimed_at = clock_timestamp(),
         heartbeat_at = clock_timestamp(), progress = 0, message = null, unreachable_since = null
   where t.id = claim_task.task_id and t.status = 'dispatched'
     and (t.not_before is null or t.not_before <= now())
     and exists (select 1 from public.jobs j where j.id = t.job_id
                 and j.status in ('pending', 'processing') and j.deleted_at is null)
  returning * into task;
  if not found then
    return null;
  end if;
  update public.jobs j
     set status = 'processing', started_at = coalesce(j.started_at, now()),
         stage = task.step, stage_message = private.stage_message(task)
   where j.id = task.job_id
  returning * into job;
  select * into cfg from private.settings;
  return jsonb_build_object(
    'lease', task.lease,
    'heartbeat_seconds', cfg.heartbeat_seconds,
    -- The longest recording, which prepare checks the upload against (the same setting
    -- submission checks the client's duration with).
    'max_media_seconds', cfg.max_media_seconds,
    'task', jsonb_build_object('id', task.id, 'job_id', task.job_id, 'step', task.step,
      'chunk_index', task.chunk_index, 'attempt', task.attempts, 'contract', task.contract),
    'job', jsonb_build_object('id', job.id, 'owner_id', job.owner_id, 'filename', job.filename,
      'media', job.media, 'options', job.options),
    'input', private.task_input(task));
end;
$function$;

CREATE OR REPLACE FUNCTION public.release_task(task_id uuid, lease uuid, reason text, retry_after_ms integer DEFAULT NULL::integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  task private.tasks;
begin
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('ok', false, 'reason', 'stale_lease');
  end if;
  update private.tasks t
     set status = 'pending', lease = null, attempts = greatest(t.attempts - 1, 0),
         not_before = clock_timestamp()
           + make_interval(secs => coalesce(release_task.retry_after_ms, 30000) / 1000.0),
         error_code = 'contract_unknown', error_message = release_task.reason
   where t.id = task.id;
  update public.jobs j
     set stage_message = 'Waiting for the processing service to be updated; nothing is lost.'
   where j.id = task.job_id and j.status in ('pending', 'processing');
  -- The slot this task held goes to the next waiting task now, not at the next tick.
  perform private.dispatch_due();
  return jsonb_build_object('ok', true);
end;
$function$;

ALTER TABLE "private"."tasks" ADD CONSTRAINT "tasks_contract_check" CHECK ((contract > 0));

REVOKE ALL ON FUNCTION "public"."release_task"(uuid, uuid, text, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION "public"."release_task"(uuid, uuid, text, integer) TO "postgres", "service_role";

-- Grants the plan leaves out (written by db:diff from the catalog: new functions get the
-- schema's default privileges, which the plan does not revoke).
revoke all on function public.release_task(task_id uuid, lease uuid, reason text, retry_after_ms integer) from anon;
revoke all on function public.release_task(task_id uuid, lease uuid, reason text, retry_after_ms integer) from authenticated;
