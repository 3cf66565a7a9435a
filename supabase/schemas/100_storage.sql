-- Storage: the private `media` bucket, where each user may touch only `<user id>/...` and keep
-- at most pending_upload_bytes in uploads no job uses yet, and the cleanup path (storage objects
-- are removed through the Storage API by the `cleanup` function, never by deleting storage rows
-- in SQL; it then calls purge_jobs). Uploads no job references are removed the same way once
-- older than upload_grace (orphan_uploads).

-- 50 MiB per object: the Free plan's global limit (supabase/functions/_shared/limits.ts). The
-- one setting for a paid plan is `[storage] file_size_limit` in supabase/config.toml, which
-- `deno task deploy` pushes and applies to this bucket too (scripts/deploy.ts).
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('media', 'media', false, 52428800, array['audio/*', 'video/*', 'application/json'])
on conflict (id) do update set public = excluded.public, file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

-- `<owner>/<folder>/` of a media path.
create function private.media_folder(path text) returns text
language sql immutable set search_path = ''
as $$ select split_part(path, '/', 1) || '/' || split_part(path, '/', 2) || '/' $$;

-- The user whose folder an object is in (null when the first folder is not a user id).
create function private.folder_owner(object_name text) returns uuid
language sql immutable set search_path = ''
as $$
  select case when split_part(object_name, '/', 1) ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then split_part(object_name, '/', 1)::uuid end
$$;

-- Whether any job (in whatever state: a removed job's objects are its cleanup's) uses an object
-- of the media bucket: its upload folder, or a chunk its prepare step planned.
create function private.upload_in_use(object_name text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j
    where j.owner_id = private.folder_owner(object_name)
      and (private.media_folder(j.media ->> 'path') = private.media_folder(object_name)
        or exists (
          select 1 from private.tasks t, jsonb_array_elements(t.output -> 'chunks') c
          where t.job_id = j.id and t.step = 'prepare' and t.status = 'completed'
            and c ->> 'path' = object_name)))
$$;

-- Whether an object is the input of a live job, which the upload quota does not count: the exact
-- media path, or a chunk its prepare step planned, of a job of the folder's owner that has not
-- failed, been cancelled or deleted. A folder a job names, or a failed job's path, holds bytes
-- like any other upload (upload_in_use, which keeps them from orphan cleanup, is broader).
create function private.held_by_live_job(object_name text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j
    where j.owner_id = private.folder_owner(object_name)
      and j.status not in ('failed', 'cancelled') and j.deleted_at is null
      and (j.media ->> 'path' = object_name
        or exists (
          select 1 from private.tasks t, jsonb_array_elements(t.output -> 'chunks') c
          where t.job_id = j.id and t.step = 'prepare' and t.status = 'completed'
            and c ->> 'path' = object_name)))
$$;

-- Whether an object of `size` bytes may be written to `object_name`: the bytes its owner holds
-- in the media bucket outside live jobs' inputs (this object included, whatever it replaces)
-- stay within pending_upload_bytes. Raises upload_quota_exceeded (PT413) otherwise, so the
-- uploader reads why. Called by the insert and update policies below (an unknown size counts
-- as 0, so a full quota refuses even the permission check Storage makes before a resumable or
-- signed upload) and by the media_upload_quota trigger, which sees every write with its size
-- whoever makes it: Storage writes a signed upload as a superuser, past RLS.
create function private.within_upload_quota(object_name text, metadata jsonb) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  cap bigint := (select s.pending_upload_bytes from private.settings s);
  uploader uuid := private.folder_owner(object_name);
  pending bigint;
begin
  if uploader is null or private.held_by_live_job(object_name) then
    return true;
  end if;
  select coalesce(sum((o.metadata ->> 'size')::bigint), 0) into pending
  from storage.objects o
  where o.bucket_id = 'media' and o.name like uploader::text || '/%' and o.name <> object_name
    and not private.held_by_live_job(o.name);
  if pending + coalesce((metadata ->> 'size')::bigint, 0) > cap then
    perform private.raise_error('upload_quota_exceeded', 'size',
      format('Your unfinished uploads would hold %s MB, more than the %s MB allowed. Submit or delete them first; unused uploads are removed after a day.',
        ceil((pending + coalesce((metadata ->> 'size')::bigint, 0)) / 1048576.0), floor(cap / 1048576.0)));
  end if;
  return true;
end;
$$;

create function private.enforce_upload_quota() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.within_upload_quota(new.name, new.metadata);
  return new;
end;
$$;

create trigger media_upload_quota before insert or update of name, metadata on storage.objects
  for each row when (new.bucket_id = 'media')
  execute function private.enforce_upload_quota();

create policy media_select_own_folder on storage.objects
  for select to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy media_insert_own_folder on storage.objects
  for insert to authenticated
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.within_upload_quota(name, metadata));
create policy media_update_own_folder on storage.objects
  for update to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.within_upload_quota(name, metadata));
create policy media_delete_own_folder on storage.objects
  for delete to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- Calls <functions_url>/cleanup with {"job_ids": [...]} (after commit, through pg_net).
-- Posts `body` to the cleanup function, as every engine call is made (the secret key in apikey).
create function private.call_cleanup(body jsonb, what text) returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  url text;
begin
  select * into cfg from private.settings;
  url := private.secret(cfg.functions_url_secret);
  if url is null then
    raise warning 'job engine: Vault secret % is missing; % not requested', cfg.functions_url_secret, what;
    return null;
  end if;
  return net.http_post(
    url := rtrim(url, '/') || '/cleanup',
    body := body,
    headers := jsonb_build_object('Content-Type', 'application/json',
      'apikey', coalesce(private.secret(cfg.service_key_secret), '')),
    timeout_milliseconds := cfg.dispatch_timeout_ms);
end;
$$;

create function private.request_cleanup(job_ids uuid[]) returns bigint
language sql security definer set search_path = ''
as $$ select private.call_cleanup(jsonb_build_object('job_ids', to_jsonb(job_ids)), 'cleanup') $$;

-- Every storage path a job references: its media (a manifest or a single file) and the chunks
-- its prepare step planned (a manifest may point at chunks outside its own folder).
create function private.job_media_paths(job_id uuid) returns setof text
language sql stable security definer set search_path = ''
as $$
  select j.media ->> 'path' from public.jobs j where j.id = job_media_paths.job_id
  union
  select c ->> 'path'
  from private.tasks t, jsonb_array_elements(t.output -> 'chunks') c
  where t.job_id = job_media_paths.job_id and t.step = 'prepare' and t.status = 'completed'
$$;

-- What the cleanup function should remove for each job: the storage folder of its media
-- (`<owner>/<folder>/`) and every path it references outside that folder, leaving out what
-- another job that is not being removed still uses (a resubmission of the same upload):
-- prefix is then null and such paths are not listed. Only the same owner's jobs can use these
-- paths (submission and prepare refuse media outside the caller's folder), so only their jobs
-- are looked at: the cost follows the owners' job counts, not the size of the table.
create function public.cleanup_targets(job_ids uuid[]) returns jsonb
language sql stable security definer set search_path = ''
as $$
  with doomed as (
    select j.id, j.owner_id, private.media_folder(j.media ->> 'path') as folder
    from public.jobs j
    where j.id = any (job_ids) and (j.deleted_at is not null or j.expires_at <= now())
  ),
  live as (
    select o.id, private.media_folder(o.media ->> 'path') as folder
    from public.jobs o
    where o.owner_id in (select d.owner_id from doomed d)
      and o.deleted_at is null and o.expires_at > now()
  ),
  live_paths as (
    select theirs.path from live, private.job_media_paths(live.id) as theirs(path)
  )
  select coalesce(jsonb_agg(jsonb_build_object(
    'job_id', d.id,
    'bucket', 'media',
    'prefix', case when not exists (select 1 from live where live.folder = d.folder)
                    and not exists (select 1 from live_paths lp where lp.path like d.folder || '%')
                   then d.folder end,
    'paths', coalesce((
      select jsonb_agg(mine.path order by mine.path)
      from private.job_media_paths(d.id) as mine(path)
      where mine.path not like d.folder || '%'
        and not exists (select 1 from live where mine.path like live.folder || '%')
        and not exists (select 1 from live_paths lp where lp.path = mine.path)), '[]'::jsonb))),
    '[]'::jsonb)
  from doomed d
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

-- Uploads of the media bucket that no job uses, older than upload_grace: what the cleanup
-- function removes through the Storage API when called with {"orphan_uploads": true} (hourly,
-- by request_orphan_cleanup), oldest first, at most orphan_cleanup_batch names.
create function public.orphan_uploads() returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(o.name order by o.at), '[]'::jsonb)
  from (
    select o.name, coalesce(o.updated_at, o.created_at) as at
    from storage.objects o, private.settings s
    where o.bucket_id = 'media' and coalesce(o.updated_at, o.created_at) < now() - s.upload_grace
      and not private.upload_in_use(o.name)
    order by coalesce(o.updated_at, o.created_at)
    limit (select orphan_cleanup_batch from private.settings)
  ) o
$$;

-- Asks the cleanup function to remove orphan uploads (pg_cron, hourly).
create function private.request_orphan_cleanup() returns bigint
language sql security definer set search_path = ''
as $$ select private.call_cleanup(jsonb_build_object('orphan_uploads', true), 'orphan cleanup') $$;

revoke execute on function public.cleanup_targets(uuid[]), public.purge_jobs(uuid[]),
  public.orphan_uploads()
  from public, anon, authenticated;
grant execute on function public.cleanup_targets(uuid[]), public.purge_jobs(uuid[]),
  public.orphan_uploads() to service_role;
