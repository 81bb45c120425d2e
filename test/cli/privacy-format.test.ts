// The privacy commands' human output: forget's dry run says how many archived files it would remove.
import { describe, expect, it } from "vitest";
import { formatForget } from "../../src/cli/privacy.ts";

const counts = { users: 1, messages: 2, conversations: 1, errors: 0, fileRefs: 3, files: 2 };

describe("formatForget", () => {
  it("says how many file references it blanks and archived files it removes, dry or applied", () => {
    expect(formatForget({ userId: "u1", applied: false, counts })).toBe(
      `Dry run: forgetting user "u1" would blank 1 user row, 2 messages, 1 conversations' last message, ` +
        `0 error texts, 3 file references and remove 2 archived files only their messages point to. Re-run with --yes to do it.`,
    );
    expect(formatForget({ userId: "u1", applied: true, counts })).toMatch(
      /erased from the mirror: .*3 file references blanked, 2 archived files only their messages point to removed;/,
    );
  });
});
