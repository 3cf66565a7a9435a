-- Caption presets in options, revisions (owner only, outputs replaced, original kept) and the
-- transcript so far of a running job (owner only).
begin;
\ir _helpers.sql
select plan(18);

select tests.new_user() as alice \gset
select tests.new_user() as bob \gset

-- Presets: named numbers filled in; an override makes the style "custom"; bad names refused.
select is(private.normalize_options('{"caption_style": {"preset": "dcmp"}}') -> 'caption_style',
  '{"preset": "dcmp", "max_line_chars": 32, "max_lines": 2, "max_chars_per_second": 13.6,
    "min_duration": 2, "max_duration": 7}'::jsonb, 'a preset fills in its numbers');
select is(private.normalize_options('{"caption_style": {"preset": "bbc", "max_lines": 1}}') -> 'caption_style' ->> 'preset',
  'custom', 'a preset with a changed number is named custom');
select is(private.normalize_options('{"caption_style": {"preset": "netflix_en", "max_line_chars": 42}}') -> 'caption_style' ->> 'preset',
  'netflix_en', 'an override equal to the preset keeps its name');
select is(private.normalize_options('{"caption_style": {"max_line_chars": 30}}') -> 'caption_style',
  '{"preset": "custom", "max_line_chars": 30, "max_lines": 2, "max_chars_per_second": 20,
    "min_duration": 0.833, "max_duration": 7}'::jsonb, 'custom values over the default');
select tests.as_user(:'bob');
select is(tests.submit_error('x', tests.media(:'bob'), '{"caption_style": {"preset": "vhs"}}') ->> 'detail',
  'options.caption_style.preset', 'an unknown preset is refused, naming the field');
select is(tests.submit_error('x', tests.media(:'bob'), '{"caption_style": {"min_duration": 3, "max_duration": 2.5}}') ->> 'detail',
  'options.caption_style.max_duration', 'max_duration must exceed min_duration');
select is(tests.submit_error('x', tests.media(:'bob'), '{"caption_style": {"min_duration": 0.1}}') ->> 'detail',
  'options.caption_style.min_duration', 'min_duration is bounded');
select tests.as_admin();

-- The transcript so far: completed transcribe chunks, in order, for the owner only.
select tests.submit(:'alice') as job \gset
select tests.run((tests.task(:'job', 'prepare')).id);
update private.tasks set output = '{"transcript": {"language": "en", "segments": [{"start": 600, "end": 602, "text": "second"}]}}',
  status = 'completed' where job_id = :'job' and step = 'transcribe' and key = '1';
update private.tasks set output = '{"transcript": {"language": "en", "segments": [{"start": 1, "end": 2, "text": "first"}]}}',
  status = 'completed' where job_id = :'job' and step = 'transcribe' and key = '0';
select tests.as_user(:'alice');
select is(public.partial_transcript(:'job') - 'status',
  '{"chunks": 3, "completed_chunks": 2, "segments": [{"start": 1, "end": 2, "text": "first"}, {"start": 600, "end": 602, "text": "second"}]}'::jsonb,
  'the owner reads the finished chunks in order');
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.partial_transcript(%L)', :'job')) ->> 'hint', 'not_found',
  'another user cannot read the partial transcript');
select tests.as_admin();

-- Revisions: store_revision is the service role's; it keeps the original and replaces outputs.
update public.jobs set status = 'completed', completed_at = now() where id = :'job';
insert into public.job_outputs (job_id, language, format, content) values
  (:'job', 'en', 'json', '{"old": true}'), (:'job', 'en', 'srt', 'old srt');
select tests.as_user(:'alice');
select is(tests.error_of(format($$select public.store_revision(%L, %L, 'en', '{}', '{}', '[]')$$, :'job', :'alice')) ->> 'sqlstate',
  '42501', 'a signed-in user cannot call store_revision directly');
select is(tests.error_of(format($$insert into public.job_revisions (job_id, language, revision, transcript) values (%L, 'en', 5, '{}')$$, :'job')) ->> 'sqlstate',
  '42501', 'nor insert revisions');
select tests.as_service();
select is(tests.error_of(format($$select public.store_revision(%L, %L, 'en', '{}', '{}', '[]')$$, :'job', :'bob')) ->> 'hint',
  'not_found', 'store_revision refuses an owner who is not the owner');
select is(public.store_revision(:'job', :'alice', 'en', '{"edited": 1}', '{"original": true}',
  '[{"format": "json", "content": "new json"}, {"format": "srt", "content": "new srt"}, {"format": "vtt", "content": "v"},
    {"format": "ttml", "content": "t"}, {"format": "txt", "content": "x"}]'), 1, 'the first edit is revision 1');
select tests.as_admin();
select results_eq(format($$select revision, transcript from public.job_revisions where job_id = %L order by revision$$, :'job'),
  $$values (0, '{"original": true}'::jsonb), (1, '{"edited": 1}'::jsonb)$$, 'the original is kept as revision 0');
select is((select content from public.job_outputs where job_id = :'job' and format = 'srt'), 'new srt',
  'the outputs are the latest revision');
select tests.as_user(:'bob');
select is((select count(*) from public.job_revisions)::int, 0, 'revisions are invisible to others');

-- The render step's new formats are outputs a job may hold; an unknown one is not (the step
-- contract checks only render's output keys; job_outputs owns the formats).
select tests.as_admin();
select lives_ok($$insert into public.job_outputs (job_id, language, format, content) values
  ('$$ || :'job' || $$', 'xx', 'ttml', '<tt/>'), ('$$ || :'job' || $$', 'xx', 'txt', '[00:00:00.000] hi')$$,
  'render may store ttml and txt');
select throws_ok($$insert into public.job_outputs (job_id, language, format, content) values
  ('$$ || :'job' || $$', 'xx', 'docx', 'x')$$, '23514', null, 'an unknown format is refused');

select * from finish();
rollback;
