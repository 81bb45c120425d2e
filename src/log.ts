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

/**
 * A copy of a value logged with every string scrubbed of `secrets`. Works on the values, before
 * pino serializes them: in the JSON line a secret holding `"` or `\\` is escaped and no longer
 * matches its own text. Errors are copied (same prototype) with their text scrubbed.
 */
function scrubValue(value: unknown, secrets: readonly string[], seen: WeakSet<object>, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value, secrets);
  if (value === null || typeof value !== "object" || depth > 10) return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (value instanceof Error) {
    // Same prototype, so pino's error serializer still names its type (MirrorError, TypeError).
    const copy = Object.create(Object.getPrototypeOf(value)) as Error;
    for (const key of ["message", "stack", ...Object.keys(value)]) {
      const v = (value as unknown as Record<string, unknown>)[key];
      if (v !== undefined)
        (copy as unknown as Record<string, unknown>)[key] = scrubValue(v, secrets, seen, depth + 1);
    }
    if (value.cause !== undefined) copy.cause = scrubValue(value.cause, secrets, seen, depth + 1);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets, seen, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Date, Buffer, URL…: pino's own
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, secrets, seen, depth + 1);
  return out;
}

/** pino logger with path redaction plus a value scrub of known secrets on every line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const scrubAny = <T>(value: T): T => scrubValue(value, secrets, new WeakSet()) as T;
  // The last line of defence, on the serialized text: catches what a serializer added.
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
  const logger = pino(
    {
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      // A copy: pino merges the line's own fields into the object the mixin returns.
      mixin: () => scrubAny({ ...logContext.getStore() }),
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          // pino's own shorthand log.error(err): the error under `err`, its message as the message.
          const scrubbed =
            first instanceof Error
              ? [{ err: scrubAny(first) }, ...(rest.length > 0 ? rest : [first.message]).map(scrubAny)]
              : (args as unknown[]).map(scrubAny);
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    dest,
  );
  return scrubbingChildren(logger, scrubAny);
}

/** Child loggers' bindings are serialized once, at creation: scrub them there. */
function scrubbingChildren(logger: Logger, scrubAny: <T>(value: T) => T): Logger {
  const child = logger.child.bind(logger);
  logger.child = ((bindings: Record<string, unknown>, options?: Parameters<Logger["child"]>[1]) =>
    scrubbingChildren(
      child(scrubAny(bindings), options) as unknown as Logger,
      scrubAny,
    )) as unknown as Logger["child"];
  return logger;
}
