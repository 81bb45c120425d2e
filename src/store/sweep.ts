// Reconcile's mark-and-sweep, shared by every swept table (conversations, users): a complete
// listing stamps the rows it saw with its run id (seen_run_id); the live rows it did not stamp are
// the deletion candidates, confirmed one by one with a GET before anything is marked.

/** Prisma filter: live rows of the app that run `runId` has not seen, after `afterId` (keyset). */
export function unseenLive(appId: string, runId: number, afterId?: string) {
  return {
    appId,
    deletedAt: null,
    OR: [{ seenRunId: null }, { seenRunId: { not: runId } }],
    ...(afterId !== undefined ? { id: { gt: afterId } } : {}),
  };
}
