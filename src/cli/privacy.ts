// Human output of the privacy commands (`forget`, `purge`); their --json output is the summary itself.
import type { ForgetSummary, PurgeSummary } from "../sync/privacy.ts";
import { count } from "../units.ts";

export function formatForget(s: ForgetSummary): string {
  if (s.undone !== undefined) {
    if (!s.applied)
      return `Dry run: would lift the erasure of user "${s.userId}". Re-run with --yes to do it.`;
    return s.undone
      ? `Erasure of user "${s.userId}" lifted: the next passes store their data again (reconcile --messages brings it all back).`
      : `User "${s.userId}" was not erased; nothing to undo.`;
  }
  const c = s.counts ?? { users: 0, messages: 0, conversations: 0, errors: 0, fileRefs: 0, files: 0 };
  const what =
    `${count(c.users)} user row, ${count(c.messages)} messages, ${count(c.conversations)} conversations' last message, ` +
    `${count(c.errors)} error texts, ${count(c.fileRefs)} file references`;
  const files = `${count(c.files)} archived files only their messages point to`;
  return s.applied
    ? `User "${s.userId}" erased from the mirror: ${what} blanked, ${files} removed; later passes blank them on the way in.`
    : `Dry run: forgetting user "${s.userId}" would blank ${what} and remove ${files}. Re-run with --yes to do it.`;
}

export function formatPurge(s: PurgeSummary): string {
  const what =
    `${count(s.conversations)} conversations (with their participants and messages), ${count(s.messages)} messages in all, ${count(s.users)} users deleted at TalkJS before ${s.deletedBefore}, ` +
    `${count(s.fileRefs)} file references of those messages and ${count(s.files)} archived files only they point to`;
  return s.applied ? `Purged ${what}.` : `Dry run: purge would remove ${what}. Re-run with --yes to do it.`;
}
