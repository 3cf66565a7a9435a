-- Submission: a client inserts (filename, media, options) into public.jobs. The BEFORE INSERT
-- trigger validates, deduplicates (within one owner) and enforces the per-user and global
-- active-job limits; the AFTER INSERT trigger plans and dispatches the first task (or copies
-- the cached outputs).

-- A language a user may ask for: an ISO 639-1 code (or one of the few ISO 639-3 codes the
-- speech engines know that have no two-letter code), optionally with region or script subtags
-- ("pt-BR", "zh-Hant"). A well-formed but unknown code ("zz") is refused here, at submission,
-- instead of failing later at the provider.
create function private.is_language(code text) returns boolean
language sql immutable set search_path = ''
as $$
  select code ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'
    and split_part(code, '-', 1) = any (array[
    'aa', 'ab', 'ae', 'af', 'ak', 'am', 'an', 'ar', 'as', 'av', 'ay', 'az', 'ba', 'be', 'bg', 'bh',
    'bi', 'bm', 'bn', 'bo', 'br', 'bs', 'ca', 'ce', 'ch', 'co', 'cr', 'cs', 'cu', 'cv', 'cy', 'da',
    'de', 'dv', 'dz', 'ee', 'el', 'en', 'eo', 'es', 'et', 'eu', 'fa', 'ff', 'fi', 'fj', 'fo', 'fr',
    'fy', 'ga', 'gd', 'gl', 'gn', 'gu', 'gv', 'ha', 'he', 'hi', 'ho', 'hr', 'ht', 'hu', 'hy', 'hz',
    'ia', 'id', 'ie', 'ig', 'ii', 'ik', 'io', 'is', 'it', 'iu', 'ja', 'jv', 'ka', 'kg', 'ki', 'kj',
    'kk', 'kl', 'km', 'kn', 'ko', 'kr', 'ks', 'ku', 'kv', 'kw', 'ky', 'la', 'lb', 'lg', 'li', 'ln',
    'lo', 'lt', 'lu', 'lv', 'mg', 'mh', 'mi', 'mk', 'ml', 'mn', 'mr', 'ms', 'mt', 'my', 'na', 'nb',
    'nd', 'ne', 'ng', 'nl', 'nn', 'no', 'nr', 'nv', 'ny', 'oc', 'oj', 'om', 'or', 'os', 'pa', 'pi',
    'pl', 'ps', 'pt', 'qu', 'rm', 'rn', 'ro', 'ru', 'rw', 'sa', 'sc', 'sd', 'se', 'sg', 'si', 'sk',
    'sl', 'sm', 'sn', 'so', 'sq', 'sr', 'ss', 'st', 'su', 'sv', 'sw', 'ta', 'te', 'tg', 'th', 'ti',
    'tk', 'tl', 'tn', 'to', 'tr', 'ts', 'tt', 'tw', 'ty', 'ug', 'uk', 'ur', 'uz', 've', 'vi', 'vo',
    'wa', 'wo', 'xh', 'yi', 'yo', 'za', 'zh', 'zu',
    'haw', 'yue', 'ceb', 'fil', 'hmn', 'mni', 'sat'])
$$;

create function private.is_integer_between(value jsonb, low integer, high integer) returns boolean
language sql immutable set search_path = ''
as $$
  select jsonb_typeof(value) = 'number' and value::numeric = trunc(value::numeric)
    and value::numeric between low and high
$$;

-- Validates job options and returns them with every default filled in, so that two equal
-- requests have equal options (deduplication compares them). Errors name the field.
create function private.normalize_options(options jsonb) returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  defaults constant jsonb := jsonb_build_object(
    'language', 'auto', 'force_language', false,
    'num_speakers', null, 'min_speakers', null, 'max_speakers', null,
    'translate_to', '[]'::jsonb, 'summarize', false, 'caption_style', '{}'::jsonb);
  style_keys constant text[] := array['preset', 'max_line_chars', 'max_lines',
    'max_chars_per_second', 'min_duration', 'max_duration'];
  preset jsonb;
  o jsonb;
  k text;
  item jsonb;
  style jsonb;
begin
  if options is null or jsonb_typeof(options) <> 'object' then
    perform private.raise_error('invalid_options', 'options', 'must be a JSON object');
  end if;
  for k in select jsonb_object_keys(options) loop
    if not defaults ? k and k <> 'webhook_url' then
      perform private.raise_error('invalid_options', 'options.' || k, 'is not a known option');
    end if;
  end loop;
  o := defaults || jsonb_strip_nulls(options);

  if jsonb_typeof(o -> 'language') <> 'string'
     or (o ->> 'language' <> 'auto' and not private.is_language(o ->> 'language')) then
    perform private.raise_error('unsupported_language', 'options.language',
      'must be "auto" or a language code such as "en" or "pt-BR"');
  end if;
  if jsonb_typeof(o -> 'force_language') <> 'boolean' then
    perform private.raise_error('invalid_options', 'options.force_language', 'must be true or false');
  end if;
  if (o ->> 'force_language')::boolean and o ->> 'language' = 'auto' then
    perform private.raise_error('invalid_options', 'options.force_language',
      'needs a language other than "auto"');
  end if;
  foreach k in array array['num_speakers', 'min_speakers', 'max_speakers'] loop
    if o -> k <> 'null'::jsonb and not private.is_integer_between(o -> k, 1, 32) then
      perform private.raise_error('invalid_options', 'options.' || k, 'must be a whole number from 1 to 32');
    end if;
  end loop;
  if (o ->> 'min_speakers')::integer > (o ->> 'max_speakers')::integer then
    perform private.raise_error('invalid_options', 'options.min_speakers', 'must not exceed max_speakers');
  end if;
  if (o ->> 'num_speakers')::integer < (o ->> 'min_speakers')::integer
     or (o ->> 'num_speakers')::integer > (o ->> 'max_speakers')::integer then
    perform private.raise_error('invalid_options', 'options.num_speakers',
      'must lie between min_speakers and max_speakers');
  end if;
  if jsonb_typeof(o -> 'translate_to') <> 'array' or jsonb_array_length(o -> 'translate_to') > 5 then
    perform private.raise_error('invalid_options', 'options.translate_to', 'must be a list of at most 5 languages');
  end if;
  for item in select value from jsonb_array_elements(o -> 'translate_to') loop
    if jsonb_typeof(item) <> 'string' or not private.is_language(item #>> '{}') then
      perform private.raise_error('unsupported_language', 'options.translate_to',
        'every entry must be a language code such as "fr"');
    end if;
  end loop;
  if (select count(distinct value) from jsonb_array_elements(o -> 'translate_to'))
     <> jsonb_array_length(o -> 'translate_to') then
    perform private.raise_error('invalid_options', 'options.translate_to', 'lists a language twice');
  end if;
  if jsonb_typeof(o -> 'summarize') <> 'boolean' then
    perform private.raise_error('invalid_options', 'options.summarize', 'must be true or false');
  end if;
  if jsonb_typeof(o -> 'caption_style') <> 'object' then
    perform private.raise_error('invalid_options', 'options.caption_style', 'must be a JSON object');
  end if;
  for k in select jsonb_object_keys(o -> 'caption_style') loop
    if not k = any (style_keys) then
      perform private.raise_error('invalid_options', 'options.caption_style.' || k, 'is not a known caption setting');
    end if;
  end loop;
  style := jsonb_strip_nulls(o -> 'caption_style');
  if style ? 'preset' and (jsonb_typeof(style -> 'preset') <> 'string'
     or not private.caption_presets() ? (style ->> 'preset')) then
    perform private.raise_error('invalid_options', 'options.caption_style.preset',
      'must be one of ' || (select string_agg(key, ', ' order by key) from jsonb_object_keys(private.caption_presets()) key));
  end if;
  -- The preset's numbers, overridden by the caller's; a style that differs from its preset is
  -- "custom", so the name never lies about the numbers.
  preset := private.caption_presets() -> coalesce(style ->> 'preset', 'default');
  style := preset || (style - 'preset');
  style := style || jsonb_build_object('preset', coalesce((
    select key from jsonb_each(private.caption_presets()) p(key, value)
     where p.key = coalesce(o -> 'caption_style' ->> 'preset', 'default') and p.value = style - 'preset'), 'custom'));
  if not private.is_integer_between(style -> 'max_line_chars', 20, 80) then
    perform private.raise_error('invalid_options', 'options.caption_style.max_line_chars', 'must be a whole number from 20 to 80');
  end if;
  if not private.is_integer_between(style -> 'max_lines', 1, 3) then
    perform private.raise_error('invalid_options', 'options.caption_style.max_lines', 'must be 1, 2 or 3');
  end if;
  if jsonb_typeof(style -> 'max_chars_per_second') <> 'number'
     or (style ->> 'max_chars_per_second')::numeric not between 5 and 40 then
    perform private.raise_error('invalid_options', 'options.caption_style.max_chars_per_second', 'must be a number from 5 to 40');
  end if;
  if jsonb_typeof(style -> 'min_duration') <> 'number'
     or (style ->> 'min_duration')::numeric not between 0.5 and 3 then
    perform private.raise_error('invalid_options', 'options.caption_style.min_duration', 'must be a number of seconds from 0.5 to 3');
  end if;
  if jsonb_typeof(style -> 'max_duration') <> 'number'
     or (style ->> 'max_duration')::numeric not between 2 and 10
     or (style ->> 'max_duration')::numeric <= (style ->> 'min_duration')::numeric then
    perform private.raise_error('invalid_options', 'options.caption_style.max_duration',
      'must be a number of seconds from 2 to 10, above min_duration');
  end if;
  -- Present only when given (085_webhooks.sql validates it).
  if o ? 'webhook_url' then
    o := o || jsonb_build_object('webhook_url', private.normalize_webhook_url(o -> 'webhook_url'));
  end if;
  return o || jsonb_build_object('caption_style', style);
end;
$$;

-- The largest object the media bucket accepts (its file_size_limit; no limit: unbounded).
create function private.media_object_limit() returns bigint
language sql stable security definer set search_path = ''
as $$
  select coalesce((select file_size_limit from storage.buckets where id = 'media'),
    9223372036854775807)
$$;

-- Validates the media description against its owner's storage folder.
create function private.normalize_media(media jsonb, owner_id uuid) returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  cfg private.settings;
  k text;
  path text;
begin
  select * into cfg from private.settings;
  if media is null or jsonb_typeof(media) <> 'object' then
    perform private.raise_error('invalid_media', 'media', 'must be a JSON object with path, bytes, sha256 and duration');
  end if;
  for k in select jsonb_object_keys(media) loop
    if k not in ('path', 'bytes', 'sha256', 'duration') then
      perform private.raise_error('invalid_media', 'media.' || k, 'is not a known media field');
    end if;
  end loop;
  path := media ->> 'path';
  if jsonb_typeof(media -> 'path') is distinct from 'string' or length(path) not between 3 and 1024 then
    perform private.raise_error('invalid_media', 'media.path', 'must be the storage path of the upload');
  end if;
  -- Only under the owner's own folder of the media bucket, never climbing out of it.
  if split_part(path, '/', 1) <> owner_id::text or array_length(string_to_array(path, '/'), 1) < 3
     or path ~ '(^|/)\.\.?(/|$)' or path like '%//%' then
    perform private.raise_error('media_outside_folder', 'media.path');
  end if;
  if jsonb_typeof(media -> 'bytes') is distinct from 'number'
     or (media ->> 'bytes')::numeric <= 0 or (media ->> 'bytes')::numeric <> trunc((media ->> 'bytes')::numeric) then
    perform private.raise_error('invalid_media', 'media.bytes', 'must be the size in bytes');
  end if;
  -- One object holds at most the media bucket's limit (50 MB on the Free plan); longer
  -- recordings come as chunks with a manifest. Storage refuses the upload itself with 413; an
  -- API client that declares a bigger single file learns here what to do instead.
  if path !~ '\.json$' and (media ->> 'bytes')::numeric > private.media_object_limit() then
    perform private.raise_error('media_too_large', 'media.bytes', format(
      'is over the %s bytes one uploaded object may hold; upload the recording as chunks of at '
      'most 10 minutes and submit their chunk manifest (a media.path ending in .json) instead',
      private.media_object_limit()));
  end if;
  if jsonb_typeof(media -> 'sha256') is distinct from 'string' or media ->> 'sha256' !~ '^[0-9a-f]{64}$' then
    perform private.raise_error('invalid_media', 'media.sha256', 'must be 64 lowercase hex digits');
  end if;
  if media ? 'duration' and media -> 'duration' <> 'null'::jsonb then
    if jsonb_typeof(media -> 'duration') <> 'number' or (media ->> 'duration')::numeric <= 0 then
      perform private.raise_error('invalid_media', 'media.duration', 'must be a positive number of seconds');
    end if;
    if (media ->> 'duration')::numeric > cfg.max_media_seconds then
      perform private.raise_error('media_too_long', 'media.duration');
    end if;
  end if;
  return jsonb_build_object('path', path, 'bytes', (media ->> 'bytes')::bigint,
    'sha256', media ->> 'sha256', 'duration', media -> 'duration');
end;
$$;

-- The active-job limits, race-free: the counts and the insert happen under one
-- transaction-level advisory lock, and the counts (a new statement, so a new snapshot) see every
-- job committed by the sessions that held the lock before. A user at their own limit hears so
-- (user_queue_full) before the global limit is looked at.
create function private.reserve_active_slot(owner uuid) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
begin
  perform pg_advisory_xact_lock(hashtext('ai_subs.active_jobs'));
  select * into cfg from private.settings;
  if (select count(*) from public.jobs
      where owner_id = reserve_active_slot.owner and status in ('pending', 'processing'))
     >= cfg.per_user_active_limit then
    perform private.raise_error('user_queue_full');
  end if;
  if (select count(*) from public.jobs where status in ('pending', 'processing'))
     >= cfg.active_job_limit then
    perform private.raise_error('queue_full');
  end if;
end;
$$;

create function private.submit_job() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  source public.jobs;
begin
  select * into cfg from private.settings;
  if new.owner_id is null then
    perform private.raise_error('not_signed_in', 'owner_id');
  end if;
  if new.filename is null or length(btrim(new.filename)) = 0 or length(new.filename) > 255 then
    perform private.raise_error('invalid_filename', 'filename', 'must be 1 to 255 characters');
  end if;
  new.media := private.normalize_media(new.media, new.owner_id);
  new.options := private.normalize_options(new.options);

  -- The engine's columns, whatever the inserter sent.
  new.status := 'pending';
  new.stage := null;
  new.stage_message := 'Waiting to start';
  new.progress := 0;
  new.attempts := 0;
  new.error_code := null;
  new.error_message := null;
  new.cached_from := null;
  new.cached_at := null;
  new.created_at := now();
  new.updated_at := clock_timestamp();
  new.started_at := null;
  new.completed_at := null;
  new.deleted_at := null;
  new.expires_at := new.created_at + cfg.retention;

  -- The same owner's recording, same options, completed within retention: reuse that result.
  -- Only the owner's own: media.sha256 is the client's word, so across users it would hand one
  -- user another's transcript (see README, "Deduplication").
  select * into source from public.jobs j
   where j.owner_id = new.owner_id
     and j.media ->> 'sha256' = new.media ->> 'sha256' and j.status = 'completed'
     and j.deleted_at is null and j.options - 'webhook_url' = new.options - 'webhook_url'
     and coalesce(j.cached_at, j.completed_at) >= now() - cfg.retention and j.expires_at > now()
   order by j.completed_at desc limit 1;
  if found then
    new.status := 'completed';
    new.progress := 100;
    new.stage := 'render';
    new.stage_message := 'Result from a previous run';
    new.cached_from := source.id;
    new.cached_at := coalesce(source.cached_at, source.completed_at);
    new.started_at := now();
    new.completed_at := now();
    new.media := new.media || jsonb_build_object('duration',
      coalesce(new.media -> 'duration', source.media -> 'duration'));
    return new;
  end if;

  perform private.reserve_active_slot(new.owner_id);
  return new;
end;
$$;

create trigger jobs_submit before insert on public.jobs
  for each row execute function private.submit_job();

create function private.start_job() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.cached_from is not null then
    insert into public.job_outputs (job_id, language, format, content)
    select new.id, o.language, o.format, o.content
    from public.job_outputs o where o.job_id = new.cached_from;
  else
    perform private.plan_steps(new.id);
    perform private.dispatch_due();
  end if;
  return null;
end;
$$;

create trigger jobs_start after insert on public.jobs
  for each row execute function private.start_job();
