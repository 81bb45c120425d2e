// What `restore` prints: the plan (dry run) and the summary. Counts and ids only, never a key or
// message text.
import type { RestorePlan, RestoreSummary } from "../sync/restore/types.ts";

const n = (x: number) => x.toLocaleString("en-US");

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatPlan(p: RestorePlan, dryRun: boolean): string {
  const r = p.requests;
  const total = r.users + r.conversations + r.participants + r.readBacks + r.imports + r.uploads;
  const nr = p.notRestorable;
  return [
    `${dryRun ? "Restore plan (dry run: nothing sent; add --yes to restore)" : "Restore"}: mirror of ${p.sourceAppId} → app ${p.targetAppId}`,
    `  users:          ${n(p.users)}${p.alreadyApplied.users > 0 ? ` (${n(p.alreadyApplied.users)} already restored)` : ""}`,
    `  conversations:  ${n(p.conversations)}${p.deletedConversations > 0 ? ` (${n(p.deletedConversations)} deleted at TalkJS)` : ""}${p.alreadyApplied.conversations > 0 ? ` (${n(p.alreadyApplied.conversations)} already restored)` : ""}`,
    `  user messages:  ${n(p.messages)}${p.alreadyApplied.messages > 0 ? ` (${n(p.alreadyApplied.messages)} already restored)` : ""}`,
    `  requests:       at most ${n(total)} (users ${n(r.users)}, conversations ${n(r.conversations)}, participants ${n(r.participants)}, read-backs ${n(r.readBacks)}, imports ${n(r.imports)}, file uploads ${n(r.uploads)})`,
    `  files:          ${n(p.files.toUpload)} to upload (${n(p.files.bytes)} bytes)${p.files.alreadyUploaded > 0 ? ` (${n(p.files.alreadyUploaded)} already uploaded)` : ""}`,
    `  time:           at least ${duration(p.estimatedSeconds)} at the target's rate limit`,
    "  cannot be restored faithfully:",
    `    ${n(nr.systemMessages)} system message(s) (the import refuses them)`,
    `    ${n(nr.filesNotArchived)} file(s) not archived: restored as text${nr.filesNotCarried > 0 ? `; ${n(nr.filesNotCarried)} file(s) beyond a message's first (the documented import carries one)` : ""}`,
    `    ${n(nr.replies)} reply/replies lose referencedMessageId; ${n(nr.edited)} edited message(s) lose editedAt`,
    `    never: ${nr.fields.join("; ")}`,
  ].join("\n");
}

export function formatSummary(s: RestoreSummary): string {
  return [
    formatPlan(s.plan, false),
    `Restored into ${s.plan.targetAppId}: ${n(s.usersPut)} user(s), ${n(s.conversationsPut)} conversation(s) (${n(s.participantsPut)} participant setting(s)), ${n(s.messagesImported)} user message(s) imported in ${n(s.importRequests)} request(s)`,
    `  already in the target (matched on read-back, not sent): ${n(s.messagesMatched)}; conversations skipped (--skip-existing): ${n(s.conversationsSkipped)}`,
    `  files: ${n(s.filesUploaded)} uploaded (${n(s.filesUploadedBytes)} bytes), ${n(s.filesReused)} reused; ${n(s.filesNotArchived)} not archived: restored as text`,
    `  unknown outcomes settled by reading the target back: ${n(s.unknownOutcomes)} (${n(s.readBacks)} read-back(s))`,
    `  ${n(s.plan.notRestorable.systemMessages)} system message(s) not restorable`,
  ].join("\n");
}
