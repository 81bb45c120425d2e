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
    { level: options.level ?? "info", redact: { paths: REDACT_PATHS, censor: "[REDACTED]" } },
    dest,
  );
}
