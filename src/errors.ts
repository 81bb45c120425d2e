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

/** Bad configuration: the message names the setting and how to fix it. */
export class ConfigError extends MirrorError {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super("CONFIG_INVALID", `${setting}: ${message}`);
    this.setting = setting;
  }
}
