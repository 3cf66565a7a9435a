/** JSON log lines, one per event, carrying the job and task ids they concern. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  with(fields: LogFields): Logger;
}

export function logger(base: LogFields = {}): Logger {
  const write = (level: string, msg: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, msg, ...base, ...fields, at: new Date().toISOString() });
    if (level === "error") console.error(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    with: (fields) => logger({ ...base, ...fields }),
  };
}
