-- Storage: the private `media` bucket, where each user may touch only `<user id>/...`, and
-- the cleanup path (storage objects are removed through the Storage API by the `cleanup`
-- function, never by deleting storage rows in SQL; it then calls purge_jobs).

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('media', 'media', false, 2147483648, array['audio/*', 'video/*', 'application/json'])
on conflict (id) do update set public = excluded.public, file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

create policy media_select_own_folder on storage.objects
  for select to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy media_insert_own_folder on storage.objects
  for insert to authenticated
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy media_update_own_folder on storage.objects
  for update to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy media_delete_own_folder on storage.objects
  for delete to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- Calls <functions_url>/cleanup with {"job_ids": [...]} (after commit, through pg_net).
create function private.request_cleanup(job_ids uuid[]) returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  url text;
begin
  select * into cfg from private.settings;
  url := private.secret(cfg.functions_url_secret);
  if url is null then
    raise warning 'job engine: Vault secret % is missing; cleanup not requested', cfg.functions_url_secret;
    return null;
  end if;
  return net.http_post(
    url := rtrim(url, '/') || '/cleanup',
    body := jsonb_build_object('job_ids', to_jsonb(job_ids)),
    headers := jsonb_build_object('Content-Type', 'application/json',
      'Authorization', 'Bearer ' || coalesce(private.secret(cfg.service_key_secret), '')),
    timeout_milliseconds := cfg.dispatch_timeout_ms);
end;
$$;

-- `<owner>/<folder>/` of a media path.
create function private.media_folder(path text) returns text
language sql immutable set search_path = ''
as $$ select split_part(path, '/', 1) || '/' || split_part(path, '/', 2) || '/' $$;

-- What the cleanup function should remove for each job: the storage folder of its media
-- (`<owner>/<folder>/`), or null when another job that is not being removed still uses it
-- (a resubmission of the same upload).
create function public.cleanup_targets(job_ids uuid[]) returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('job_id', j.id, 'bucket', 'media', 'prefix',
    case when not exists (
      select 1 from public.jobs o
      where o.id <> all (job_ids) and o.deleted_at is null and o.expires_at > now()
        and o.media ->> 'path' like private.media_folder(j.media ->> 'path') || '%')
    then private.media_folder(j.media ->> 'path') end)), '[]'::jsonb)
  from public.jobs j
  where j.id = any (job_ids) and (j.deleted_at is not null or j.expires_at <= now())
$$;

-- Deletes the rows of jobs whose storage objects are gone (outputs, tasks, viewers and
-- shares go with them; events stay). Only jobs that are deleted or past retention.
create function public.purge_jobs(job_ids uuid[]) returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  purged integer;
begin
  with gone as (
    delete from public.jobs j
    where j.id = any (job_ids) and (j.deleted_at is not null or j.expires_at <= now())
    returning j.id, j.status
  )
  insert into private.events (job_id, kind, from_status, detail)
  select id, 'job.purged', status, '{}'::jsonb from gone;
  get diagnostics purged = row_count;
  return purged;
end;
$$;

revoke execute on function public.cleanup_targets(uuid[]), public.purge_jobs(uuid[])
  from public, anon, authenticated;
grant execute on function public.cleanup_targets(uuid[]), public.purge_jobs(uuid[]) to service_role;
