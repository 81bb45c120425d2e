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
  const total = r.users + r.conversations + r.participants + r.readBacks + r.imports;
  const nr = p.notRestorable;
  return [
    `${dryRun ? "Restore plan (dry run: nothing sent; add --yes to restore)" : "Restore"}: mirror of ${p.sourceAppId} → app ${p.targetAppId}`,
    `  users:          ${n(p.users)}${p.alreadyApplied.users > 0 ? ` (${n(p.alreadyApplied.users)} already restored)` : ""}`,
    `  conversations:  ${n(p.conversations)}${p.deletedConversations > 0 ? ` (${n(p.deletedConversations)} deleted at TalkJS)` : ""}${p.alreadyApplied.conversations > 0 ? ` (${n(p.alreadyApplied.conversations)} already restored)` : ""}`,
    `  user messages:  ${n(p.messages)}${p.alreadyApplied.messages > 0 ? ` (${n(p.alreadyApplied.messages)} already restored)` : ""}`,
    `  requests:       at most ${n(total)} (users ${n(r.users)}, conversations ${n(r.conversations)}, participants ${n(r.participants)}, read-backs ${n(r.readBacks)}, imports ${n(r.imports)})`,
    `  time:           at least ${duration(p.estimatedSeconds)} at the target's rate limit`,
    "  cannot be restored faithfully:",
    `    ${n(nr.systemMessages)} system message(s) (the import refuses them)`,
    `    ${n(nr.messagesWithFiles)} message(s) with files (restored as text only: files are not re-uploaded yet)`,
    `    ${n(nr.replies)} reply/replies lose referencedMessageId; ${n(nr.edited)} edited message(s) lose editedAt`,
    `    never: ${nr.fields.join("; ")}`,
  ].join("\n");
}

export function formatSummary(s: RestoreSummary): string {
  return [
    formatPlan(s.plan, false),
    `Restored into ${s.plan.targetAppId}: ${n(s.usersPut)} user(s), ${n(s.conversationsPut)} conversation(s) (${n(s.participantsPut)} participant setting(s)), ${n(s.messagesImported)} user message(s) imported in ${n(s.importRequests)} request(s)`,
    `  already in the target (matched on read-back, not sent): ${n(s.messagesMatched)}; conversations skipped (--skip-existing): ${n(s.conversationsSkipped)}`,
    `  unknown outcomes settled by reading the target back: ${n(s.unknownOutcomes)} (${n(s.readBacks)} read-back(s))`,
    `  ${n(s.plan.notRestorable.systemMessages)} system message(s) not restorable`,
  ].join("\n");
}
