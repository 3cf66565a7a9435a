-- Issue 24: stable outcomes for recordings that cannot work (no_audio, empty_audio,
-- unsupported_codec; unreadable_media says what to do) and the manifest rule named in
-- invalid_manifest's message (schemas/010_settings.sql, schemas/056_why_failed.sql).
insert into private.error_codes (code, message, retryable, http_status) values
  ('invalid_manifest', 'The chunk manifest breaks a rule: {detail}. Fix the manifest or its chunks and upload the recording again.', false, 422),
  ('unreadable_media', 'We could not read this recording. The file may be damaged or in an unsupported format: check that it plays, or convert it to MP4, MP3 or WAV, and try again.', false, 422),
  ('no_audio', 'This file has no sound track to transcribe. Choose a recording with sound.', false, 422),
  ('empty_audio', 'The sound track of this file is empty. Choose a recording with sound.', false, 422),
  ('unsupported_codec', 'The sound of this file is in a format we cannot read. Convert it to AAC (MP4 or M4A), MP3 or WAV and try again.', false, 422)
on conflict (code) do update
  set message = excluded.message, retryable = excluded.retryable, http_status = excluded.http_status;

-- A failure whose friendly message has a `{detail}` slot (private.error_codes: invalid_manifest)
-- is shown with the failed task's own message in it, so a script author reads which manifest
-- rule broke and on which chunk ("chunk 3 is 31.0 s long but its window says 600 s (rule
-- "probed duration")") instead of a generic text. Only codes whose message asks for it: the
-- other task messages are technical and stay in private.events.
create function private.fill_failure_detail() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  detail text;
begin
  if coalesce(new.error_message, '') not like '%{detail}%'
     and coalesce(new.stage_message, '') not like '%{detail}%' then
    return new;
  end if;
  select left(t.error_message, 300) into detail from private.tasks t
   where t.job_id = new.id and t.error_code = new.error_code
   order by t.updated_at desc limit 1;
  new.error_message := replace(new.error_message, '{detail}', coalesce(detail, 'see the manifest rules'));
  new.stage_message := replace(new.stage_message, '{detail}', coalesce(detail, 'see the manifest rules'));
  return new;
end;
$$;

create trigger jobs_failure_detail before update of error_message, stage_message on public.jobs
  for each row execute function private.fill_failure_detail();

-- As schemas/110_privileges.sql does for every function of `private`.
revoke execute on function private.fill_failure_detail() from public, anon, authenticated, service_role;
