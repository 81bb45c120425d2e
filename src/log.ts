import { type DestinationStream, type Logger, pino } from "pino";
import { redactSecrets } from "./redact.ts";

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** Secret values scrubbed from every serialized log line. */
  secrets?: string[];
  destination?: DestinationStream;
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
  // Wrap the destination so that a secret that slipped into any field is still scrubbed.
  const base: DestinationStream = options.destination ?? pino.destination(1);
  const dest: DestinationStream = { write: (msg: string) => base.write(scrub(msg)) };
  if (options.pretty && !options.destination) {
    return pino({
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      transport: { target: "pino-pretty" },
    });
  }
  return pino(
    { level: options.level ?? "info", redact: { paths: REDACT_PATHS, censor: "[REDACTED]" } },
    dest,
  );
}
