/**
 * Every error talkjs-mirror raises on purpose carries a stable `code`, so callers, logs and
 * metrics branch on codes rather than on message text.
 */
export class MirrorError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Bad configuration: the message names the setting (or a library's option, or a flag) and how to
 * fix it. `reason` is the message without the name, so a layer that knows a better name for the
 * same value (the config layer: option → setting) can say it again under that name.
 */
export class ConfigError extends MirrorError {
  readonly setting: string;
  readonly reason: string;

  constructor(setting: string, reason: string) {
    super("CONFIG_INVALID", `${setting}: ${reason}`);
    this.setting = setting;
    this.reason = reason;
  }
}

/**
 * A one-shot command stopped by SIGINT or SIGTERM, as asked: not a failure to report as an error.
 * The CLI prints the message and exits 128 + the signal's number (130, 143) as Unix tools do.
 */
export class StoppedOnRequest extends MirrorError {
  readonly signal: "SIGINT" | "SIGTERM";

  constructor(signal: "SIGINT" | "SIGTERM", message: string) {
    super("STOPPED", message);
    this.signal = signal;
  }
}

/** The reader of our output went away (`export … | head`): stop quietly, like a Unix filter. */
export class OutputClosed extends MirrorError {
  constructor() {
    super("OUTPUT_CLOSED", "the reader of the output closed it");
  }
}
