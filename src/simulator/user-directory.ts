// The users of a simulated app. The generated pool (user_00000 …, the ids generated conversations
// draw their participants and senders from) is derived on demand from (seed, n) with its OWN
// random stream, so adding users changed no seeded conversation or message. Users created, edited
// or removed later are kept as overrides. The listing is ordered by id (UTF-16 code unit order,
// like the other listings' tiebreaker) and pages with `startingAfter`: any id works as an anchor,
// a removed one included, because the position of an id in that order does not need the user.
import type { User, UserId, UserUpdate } from "../talkjs/types.ts";
import { isRecord } from "./body.ts";
import { mixSeed, mulberry32, userId as poolUserId } from "./generator.ts";
import { BadRequest } from "./query.ts";

type Rng = () => number;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

const DAY = 86_400_000;
/** Stream 4 of the seed: 1 = skeletons, 2 = conversation metadata, 3 = messages, 99 = faults. */
const USER_STREAM = 4;

const FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Émile", "Fatima", "Giulia", "Hiroshi", "Ingrid", "José"];
const LAST = [
  "Jansen",
  "Müller",
  "O'Brien",
  "García",
  "Nowak",
  "Dubois",
  "Rossi",
  "Smith",
  "de Vries",
  "Kim",
];
const UNICODE_NAMES = [
  "山田 太郎",
  "李小龙",
  "محمد العلي",
  "דוד כהן",
  "Zoë 🌸",
  "Дмитрий Иванов",
  "Nguyễn Văn An",
  "Zalgo ņ̷a̵m̶e̴",
];
const ROLES = ["default", "default", "customer", "agent"];
const LOCALES = ["en-US", "nl-NL", "ja-JP", "ar-SA", "he-IL", "fr-FR"];
const PLANS = ["free", "pro", "enterprise"];

/** Pool user `n` of a generated app: a pure function of (seed, n, the app's creation time). */
export function generateUser(seed: number, n: number, now: number): User {
  const rng = mulberry32(mixSeed(seed, USER_STREAM, n));
  const id = poolUserId(n);
  const unicode = rng() < 0.15;
  const name = unicode ? pick(rng, UNICODE_NAMES) : `${pick(rng, FIRST)} ${pick(rng, LAST)}`;
  const e = rng();
  const email =
    e < 0.2 ? null : e < 0.8 ? [`${id}@example.com`] : [`${id}@example.com`, `${id}@work.example.org`];
  const phone = rng() < 0.3 ? [`+3161${String(int(rng, 0, 9_999_999)).padStart(7, "0")}`] : null;
  const custom: Record<string, string> = rng() < 0.5 ? { plan: pick(rng, PLANS) } : {};
  return {
    id,
    name,
    welcomeMessage: rng() < 0.1 ? "Hi! I usually answer within the hour." : null,
    photoUrl: rng() < 0.4 ? `https://example.com/avatars/${n}.png` : null,
    headerPhotoUrl: null,
    role: pick(rng, ROLES),
    email,
    phone,
    custom,
    availabilityText: rng() < 0.05 ? "Back on Monday" : null,
    locale: rng() < 0.5 ? pick(rng, LOCALES) : null,
    // Before every generated conversation (those start at most two years before `now`).
    createdAt: now - 730 * DAY - int(rng, 1, 60 * DAY),
    pushTokens: rng() < 0.4 ? { [`fcm:tok_${n.toString(36)}_${int(rng, 0, 1e9).toString(36)}`]: true } : null,
  };
}

const STRING_FIELDS = [
  "name",
  "welcomeMessage",
  "photoUrl",
  "headerPhotoUrl",
  "role",
  "availabilityText",
  "locale",
] as const;

/** Validates a PUT body for one user; unknown fields are a 400. `email`/`phone` accept one string too. */
export function parseUserPatch(body: unknown, where = "body"): UserUpdate {
  if (body === undefined) return {};
  if (!isRecord(body)) throw new BadRequest(`${where} must be a JSON object`);
  const patch: UserUpdate = {};
  for (const [key, v] of Object.entries(body)) {
    if ((STRING_FIELDS as readonly string[]).includes(key)) {
      if (v !== null && typeof v !== "string")
        throw new BadRequest(`${where}.${key} must be a string or null`);
      patch[key as (typeof STRING_FIELDS)[number]] = v;
    } else if (key === "email" || key === "phone") {
      if (typeof v === "string") patch[key] = [v];
      else if (v === null || (Array.isArray(v) && v.every((x) => typeof x === "string"))) patch[key] = v;
      else throw new BadRequest(`${where}.${key} must be a string, an array of strings or null`);
    } else if (key === "custom") {
      if (v !== null && !(isRecord(v) && Object.values(v).every((x) => x === null || typeof x === "string")))
        throw new BadRequest(`${where}.custom must be an object of string (or null) values, or null`);
      patch.custom = v as UserUpdate["custom"];
    } else if (key === "pushTokens") {
      if (v !== null && !(isRecord(v) && Object.values(v).every((x) => x === null || x === true)))
        throw new BadRequest(`${where}.pushTokens must be an object of true (or null) values, or null`);
      patch.pushTokens = v as UserUpdate["pushTokens"];
    } else {
      throw new BadRequest(`${where}: unknown field "${key}"`);
    }
  }
  return patch;
}

/** PUT merge semantics: present fields change; `custom`/`pushTokens` merge key by key (null deletes). */
export function mergeUser(user: User, patch: UserUpdate): User {
  const next = structuredClone(user);
  for (const key of STRING_FIELDS) if (patch[key] !== undefined) next[key] = patch[key] ?? null;
  if (patch.email !== undefined) next.email = patch.email;
  if (patch.phone !== undefined) next.phone = patch.phone;
  if (patch.custom === null) next.custom = {};
  else if (patch.custom !== undefined) {
    for (const [k, v] of Object.entries(patch.custom)) {
      if (v === null) delete next.custom[k];
      else next.custom[k] = v;
    }
  }
  if (patch.pushTokens === null) next.pushTokens = null;
  else if (patch.pushTokens !== undefined) {
    const tokens: Record<string, true> = { ...next.pushTokens };
    for (const [k, v] of Object.entries(patch.pushTokens)) {
      if (v === null) delete tokens[k];
      else tokens[k] = true;
    }
    next.pushTokens = tokens;
  }
  return next;
}

function emptyUser(id: UserId, createdAt: number): User {
  return {
    id,
    name: null,
    welcomeMessage: null,
    photoUrl: null,
    headerPhotoUrl: null,
    role: null,
    email: null,
    phone: null,
    custom: {},
    availabilityText: null,
    locale: null,
    createdAt,
    pushTokens: null,
  };
}

/** First index of `arr` (sorted ascending) whose value is > `after` (or >= when not `strict`). */
function bound(arr: readonly string[], after: string, strict: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = arr[mid] as string;
    if (v < after || (strict && v === after)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class UserDirectory {
  /** Users created or changed since generation (a generated user once edited lives here). */
  private readonly overrides = new Map<UserId, User>();
  /** Generated users removed (test rig only: TalkJS has no user-delete endpoint). */
  private readonly removed = new Set<UserId>();
  /** Every live id in listing order; built on the first listing (a 1M app has ~333k pool users). */
  private sorted: string[] | null = null;
  /** Each PUT, after it applied (the app's webhooks listen). */
  onPut: ((user: User, created: boolean) => void) | null = null;

  constructor(
    private readonly seed: number,
    private readonly poolSize: number,
    /** The app's creation time: generated users' createdAt derive from it. */
    private readonly generatedAt: number,
    private readonly now: () => number,
  ) {}

  private poolNumber(id: UserId): number | null {
    const m = /^user_(\d+)$/.exec(id);
    if (!m) return null;
    const n = Number(m[1]);
    return n < this.poolSize && poolUserId(n) === id ? n : null;
  }

  private find(id: UserId): User | undefined {
    const own = this.overrides.get(id);
    if (own) return own;
    if (this.removed.has(id)) return undefined;
    const n = this.poolNumber(id);
    return n === null ? undefined : generateUser(this.seed, n, this.generatedAt);
  }

  private ids(): string[] {
    if (this.sorted) return this.sorted;
    const ids: string[] = [];
    for (let n = 0; n < this.poolSize; n++) {
      const id = poolUserId(n);
      if (!this.removed.has(id)) ids.push(id);
    }
    for (const id of this.overrides.keys()) if (this.poolNumber(id) === null) ids.push(id);
    ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.sorted = ids;
    return ids;
  }

  has(id: UserId): boolean {
    return this.find(id) !== undefined;
  }

  get(id: UserId): User | undefined {
    const u = this.find(id);
    return u ? structuredClone(u) : undefined;
  }

  /** One page of the listing: users with an id after `startingAfter`, in id order. */
  list(limit: number, startingAfter: string | undefined): User[] {
    const ids = this.ids();
    const start = startingAfter === undefined ? 0 : bound(ids, startingAfter, true);
    return ids.slice(start, start + limit).map((id) => structuredClone(this.find(id) as User));
  }

  all(): User[] {
    return this.ids().map((id) => structuredClone(this.find(id) as User));
  }

  /** PUT: merge into the user, or create it (createdAt = now). */
  put(id: UserId, patch: UserUpdate): User {
    const existing = this.find(id);
    const next = mergeUser(existing ?? emptyUser(id, this.now()), patch);
    this.overrides.set(id, next);
    if (!existing) {
      this.removed.delete(id);
      if (this.sorted) this.sorted.splice(bound(this.sorted, id, false), 0, id);
    }
    this.onPut?.(structuredClone(next), !existing);
    return structuredClone(next);
  }

  /** A participant or sender without a user: created with just its id (TalkJS needs users first). */
  ensure(id: UserId): void {
    if (!this.has(id)) this.put(id, { name: id });
  }

  /** Test rig only: the user is gone (GET answers 404, the listing skips it). */
  remove(id: UserId): boolean {
    if (!this.has(id)) return false;
    this.overrides.delete(id);
    if (this.poolNumber(id) !== null) this.removed.add(id);
    if (this.sorted) {
      const i = bound(this.sorted, id, false);
      if (this.sorted[i] === id) this.sorted.splice(i, 1);
    }
    return true;
  }
}
