-- Realtime: every change of a job row is broadcast from the database to two private topics:
-- `user:<owner id>:jobs` gets the row, `job:<job id>` only what the shared page shows
-- (private.shared_fields: no media description, options or owner). RLS on realtime.messages lets
-- the owner join both and the job's viewers join the job topic. Progress writes are throttled at
-- the source (heartbeat_task), so broadcasts are too.

-- Security definer: a change made by a user's RPC must be able to broadcast.
create function private.broadcast_job_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := coalesce(new, old);
begin
  perform realtime.broadcast_changes(
    'user:' || job.owner_id || ':jobs', tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  perform realtime.send(jsonb_build_object(
      'schema', tg_table_schema, 'table', tg_table_name, 'operation', tg_op,
      'record', case when tg_op = 'DELETE' then null else private.shared_fields(new) end,
      'old_record', case when tg_op = 'INSERT' then null else jsonb_build_object('id', old.id) end),
    tg_op, 'job:' || job.id, true);
  return null;
end;
$$;

create trigger jobs_broadcast after insert or update or delete on public.jobs
  for each row execute function private.broadcast_job_change();

-- The job id of a `job:<uuid>` topic (null for any other topic).
create function private.topic_job_id(topic text) returns uuid
language sql immutable set search_path = ''
as $$
  select case when topic ~ '^job:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(topic, 5)::uuid end
$$;

create policy job_topics_receive on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (
      realtime.topic() = 'user:' || (select auth.uid()) || ':jobs'
      or private.can_view_job(private.topic_job_id(realtime.topic()))
    )
  );
