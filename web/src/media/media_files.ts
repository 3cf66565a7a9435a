/** Which files a client offers for transcription: audio or video by type or by name. */

export const MEDIA_EXTENSIONS =
  /\.(mp4|m4v|mov|mkv|webm|avi|flv|wmv|mpg|mpeg|ts|mts|m2ts|3gp|ogv|m4a|mp3|aac|wav|flac|ogg|oga|opus|wma)$/i;

/** Whether a file named `name` looks like audio or video. */
export const isMediaName = (name: string) => MEDIA_EXTENSIONS.test(name);
