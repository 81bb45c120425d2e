import { AsyncLocalStorage } from "node:async_hooks";
import { type DestinationStream, type Logger, pino } from "pino";
import { PinoPretty } from "pino-pretty";
import { redactSecrets } from "./redact.ts";

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty?: boolean;
  /** Secret values scrubbed from every serialized log line. */
  secrets?: string[];
  /** A stream, or a file descriptor (1 = stdout, the default; 2 = stderr). */
  destination?: DestinationStream | number;
}

const REDACT_PATHS = [
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "authorization",
  "secretKey",
  "*.secretKey",
  "password",
  "*.password",
  "token",
  "*.token",
];

/** Fields (job, runId) every log line written inside `withLogContext` carries. */
const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Runs `body` so that every line logged while it runs — by the sync engine, the TalkJS client's
 * retries, the store — carries `fields` (e.g. the job and run id), whichever logger wrote it.
 * Nested contexts add to the outer one.
 */
export function withLogContext<T>(fields: Record<string, unknown>, body: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, body);
}

/** pino logger with path redaction plus a value scrub of known secrets on every line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const scrub = (line: string): string => redactSecrets(line, secrets);
  const target = options.destination ?? 1;
  // Pretty printing runs in-process (not as a pino transport thread) so every line still passes
  // through the scrub below.
  const base: DestinationStream =
    typeof target !== "number"
      ? target
      : options.pretty
        ? PinoPretty({ destination: target, colorize: false, sync: true })
        : pino.destination({ dest: target, sync: true });
  const dest: DestinationStream = { write: (msg: string) => base.write(scrub(msg)) };
  return pino(
    {
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      // A copy: pino merges the line's own fields into the object the mixin returns.
      mixin: () => ({ ...logContext.getStore() }),
    },
    dest,
  );
}
