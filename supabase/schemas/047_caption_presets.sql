-- Named caption styles, defined here and nowhere else: the form lists them
-- (from('caption_presets')), `deno task subs --preset` checks against them, normalize_options
-- (050_submit.sql) fills a job's style from them, and the README's "Caption styles" table shows
-- them with their sources (scripts/tests/db/caption_presets_test.ts compares the two).
create table public.caption_presets (
  name text primary key check (name ~ '^[a-z][a-z0-9_]*$' and name <> 'custom'),
  label text not null,
  position smallint not null unique,
  max_line_chars integer not null,
  max_lines integer not null,
  max_chars_per_second numeric not null,
  min_duration numeric not null,
  max_duration numeric not null,
  source text not null,
  check (max_line_chars between 20 and 80 and max_lines between 1 and 3
    and max_chars_per_second between 5 and 40 and min_duration between 0.5 and 3
    and max_duration between 2 and 10 and max_duration > min_duration)
);

-- Anyone may read them (the form lists them before sign-in); only migrations change them.
alter table public.caption_presets enable row level security;
revoke all on public.caption_presets from anon, authenticated;
grant select on public.caption_presets to anon, authenticated;
grant all on public.caption_presets to service_role;
create policy caption_presets_read on public.caption_presets for select to anon, authenticated
  using (true);

insert into public.caption_presets (name, label, position, max_line_chars, max_lines,
  max_chars_per_second, min_duration, max_duration, source) values
  ('default', 'Standard', 1, 42, 2, 20, 0.833, 7,
   'the rules of DESIGN.md'),
  ('netflix_en', 'Netflix English', 2, 42, 2, 17, 0.833, 7,
   'Netflix "English Template Timed Text Style Guide" (backlothelp.netflix.com/hc/en-us/articles/219375728): 42 characters per line, 2 lines, adult reading speed 200 wpm / 17 characters per second, minimum ⅚ s, maximum 7 s per event'),
  ('bbc', 'BBC', 3, 37, 2, 15.3, 0.833, 7,
   'BBC Subtitle Guidelines (bbc.github.io/subtitle-guidelines, §3.1 line length: 68% of a 16:9 screen, about 37 characters; §3.3 avoid 3 lines; speed 160-180 words per minute, summarised at clevercast.com/bbc-subtitling-guidelines). 15.3 = 180 wpm converted with Netflix''s own ratio above (200 wpm = 17 chars/s). The BBC gives no fixed minimum or maximum per subtitle: 0.833 and 7 s are ours'),
  ('dcmp', 'DCMP', 4, 32, 2, 13.6, 2, 7,
   'DCMP "Captioning Guidelines for the DCMP" (dcmp.org/learn/5-captioning-guidelines-for-the-dcmp): a 32-character line, adult presentation rate 150-160 wpm, no caption on screen less than 2 seconds. 13.6 = 160 wpm with the same ratio. Two lines and the 7 s maximum are ours, not from that page');

-- The presets as normalize_options reads them: {name: {max_line_chars, ...}}.
create function private.caption_presets() returns jsonb
language sql stable set search_path = ''
as $$
  select jsonb_object_agg(p.name, jsonb_build_object(
    'max_line_chars', p.max_line_chars, 'max_lines', p.max_lines,
    'max_chars_per_second', p.max_chars_per_second,
    'min_duration', p.min_duration, 'max_duration', p.max_duration))
  from public.caption_presets p
$$;
