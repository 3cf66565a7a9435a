-- What clients check before uploading (055_prechecks.sql): the insert's own option validation,
-- callable by users, writing nothing.
begin;
\ir _helpers.sql
select plan(4);

select tests.new_user() as alice \gset
select tests.as_user(:'alice');
select is(public.check_options('{"language": "en", "caption_style": {"preset": "netflix_en"}}') #>> '{caption_style,preset}',
  'netflix_en', 'valid options come back normalised, as the insert stores them');
select is(tests.error_of($$select public.check_options('{"caption_style": {"preset": "netflix"}}')$$) - 'sqlstate',
  jsonb_build_object('message', 'options.caption_style.preset: must be one of bbc, dcmp, default, netflix_en',
    'hint', 'invalid_options', 'detail', 'options.caption_style.preset'),
  'an unknown preset is refused with the insert''s message, naming the server''s presets');
select is(tests.error_of($$select public.check_options('{"language": "zz"}')$$) ->> 'hint',
  'unsupported_language', 'an unknown language is refused with its stable code');
select tests.as_admin();
select is((select count(*) from public.jobs where owner_id = :'alice'), 0::bigint, 'checking writes nothing');

select * from finish();
rollback;
