// The pure decision functions behind the HTTP layer, tested directly.
import { describe, expect, it } from "vitest";
import { verifyAppJwt } from "../../src/simulator/auth.ts";
import { FaultEngine } from "../../src/simulator/faults.ts";
import { generateMeta, generateSkeletons } from "../../src/simulator/generator.ts";
import { splitPath } from "../../src/simulator/http.ts";
import { mergeMeta } from "../../src/simulator/meta.ts";
import {
  BadRequest,
  matchesCustom,
  parseFilter,
  parseLimit,
  parseRestVersion,
} from "../../src/simulator/query.ts";
import { compareTsId } from "../../src/simulator/sorted-index.ts";
import { signJwt } from "./helpers.ts";

describe("pure helpers", () => {
  it("compareTsId is a total order: timestamp first, then id", () => {
    expect(compareTsId(1, "b", 2, "a")).toBeLessThan(0);
    expect(compareTsId(2, "a", 2, "b")).toBeLessThan(0);
    expect(compareTsId(2, "b", 2, "b")).toBe(0);
  });

  it("parseLimit: default, reject, clamp", () => {
    expect(parseLimit(undefined, 30, "reject")).toBe(10);
    expect(parseLimit("30", 30, "reject")).toBe(30);
    expect(() => parseLimit("31", 30, "reject")).toThrow(BadRequest);
    expect(parseLimit("31", 30, "clamp")).toBe(30);
    expect(() => parseLimit("0", 30, "clamp")).toThrow(BadRequest);
  });

  it("parseRestVersion: missing means latest, malformed is a 400", () => {
    expect(parseRestVersion(undefined) > "2024-01-01").toBe(true);
    expect(parseRestVersion("2021-02-09")).toBe("2021-02-09");
    expect(() => parseRestVersion("yesterday")).toThrow(BadRequest);
  });

  it("filters: != and !oneOf match an absent field, == and oneOf do not", () => {
    const f = parseFilter('{"custom":{"x":["!=","a"],"y":["!oneOf",["b"]]}}');
    expect(matchesCustom(f?.custom, {})).toBe(true);
    expect(matchesCustom(parseFilter('{"custom":{"x":["==","a"]}}')?.custom, {})).toBe(false);
    expect(matchesCustom(parseFilter('{"custom":{"x":["oneOf",["a"]]}}')?.custom, {})).toBe(false);
  });

  it("mergeMeta never removes participants and merges custom", () => {
    const base = {
      subject: "s",
      photoUrl: null,
      welcomeMessages: null,
      topicId: null,
      custom: { a: "1" },
      participants: { u: { access: "Read" as const, notify: false } },
    };
    const next = mergeMeta(base, { participants: ["u", "v"], custom: { a: null, b: "2" } });
    expect(next.participants).toEqual({
      u: { access: "Read", notify: false },
      v: { access: "ReadWrite", notify: true },
    });
    expect(next.custom).toEqual({ b: "2" });
    expect(base.custom).toEqual({ a: "1" }); // input untouched
  });

  it("splitPath splits before decoding", () => {
    expect(splitPath("/v1/app/conversations/a%2Fb%20c")).toEqual(["", "v1", "app", "conversations", "a/b c"]);
    expect(() => splitPath("/v1/app/conversations/%E0%A4%A")).toThrow(BadRequest);
  });

  it("verifyAppJwt explains each rejection", () => {
    const exp = Math.floor(Date.now() / 1000) + 30;
    expect(verifyAppJwt(signJwt({ tokenType: "app", iss: "a", exp }, "k"), "a", "k", Date.now())).toBeNull();
    expect(verifyAppJwt(signJwt({ tokenType: "app", iss: "a", exp }, "k"), "b", "k", Date.now())).toMatch(
      /issuer/,
    );
    expect(verifyAppJwt(signJwt({ tokenType: "app", iss: "a", exp: 1 }, "k"), "a", "k", Date.now())).toMatch(
      /expired/,
    );
  });

  it("fault rules: nth fires once at the n-th match; truncate empties later pages", () => {
    const e = new FaultEngine(1);
    e.add({ fault: { kind: "truncate", keep: 2 }, nth: 2 });
    expect(e.decide("GET", "/v1/a/conversations")).toBeNull();
    expect(e.decide("GET", "/v1/a/conversations/x")).toBeNull(); // not a listing
    expect(e.decide("GET", "/v1/a/conversations")).toEqual({ kind: "truncate", keep: 2 });
    expect(e.decide("GET", "/v1/a/conversations")).toEqual({ kind: "truncate", keep: 0 });
  });

  it("generation is cheap and deterministic for big apps", () => {
    // CPU time, not wall time: a loaded CI machine stretched the wall clock past 3 s once.
    const before = process.cpuUsage();
    const a = generateSkeletons(100_000, 4, 1_700_000_000_000);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(3000);
    expect(generateSkeletons(1000, 4, 1_700_000_000_000)).toEqual(
      generateSkeletons(1000, 4, 1_700_000_000_000),
    );
    expect(new Set(a.map((s) => s.id)).size).toBe(100_000);
    expect(generateMeta(4, 17, 100)).toEqual(generateMeta(4, 17, 100));
  });
});
