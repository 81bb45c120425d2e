import { startSimulator } from "/work/main/src/simulator/index.ts";
const sim = await startSimulator({ conversations: 600, seed: 5, appId: "x", latencyMs: 0 });
const m = new Map<number, number>();
for (const c of sim.allConversations()) m.set(c.createdAt, (m.get(c.createdAt) ?? 0) + 1);
const sizes = [...m.values()].sort((a,b)=>b-a);
console.log(sizes.slice(0,10), m.size);
await sim.close();
