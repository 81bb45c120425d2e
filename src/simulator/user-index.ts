// userId -> the records (conversations) a user participates in, unordered. Built on first need
// (a generated app of 1M conversations should not pay for it unless a user listing is asked for),
// then kept up to date by the mutations; before that, updates are no-ops.
import type { UserId } from "../talkjs/types.ts";

export class UserIndex<R> {
  private index: Map<UserId, R[]> | null = null;

  /** `participations` calls `add` once per (user, record) pair of the whole app. */
  constructor(private readonly participations: (add: (user: UserId, r: R) => void) => void) {}

  private built(): Map<UserId, R[]> {
    if (this.index) return this.index;
    const index = new Map<UserId, R[]>();
    this.participations((user, r) => addTo(index, user, r));
    this.index = index;
    return index;
  }

  /** The records of a user (unordered; do not mutate), or undefined for a user in none. */
  of(user: UserId): readonly R[] | undefined {
    return this.built().get(user);
  }

  has(user: UserId): boolean {
    return this.built().has(user);
  }

  add(user: UserId, r: R): void {
    if (this.index) addTo(this.index, user, r);
  }

  remove(user: UserId, r: R): void {
    const list = this.index?.get(user);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.index?.delete(user);
  }
}

function addTo<R>(index: Map<UserId, R[]>, user: UserId, r: R): void {
  const list = index.get(user);
  if (!list) index.set(user, [r]);
  else if (!list.includes(r)) list.push(r);
}
