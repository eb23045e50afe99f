// autodev mcp driven by the official MCP TypeScript SDK's client over stdio
// (StdioClientTransport launches the binary). Prints TAP. The SDK checks
// every structured result against the tool's outputSchema, so a result
// that does not fit its schema fails the call.
//
// Environment (set by t1961-mcp-sdk.sh): AUTODEV_BIN, AUTODEV_HOME, REPO
// (a clean git repository whose obj.py prints "score: N"), REVIEWER_TOKEN,
// AGENT_TOKEN.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const bin = process.env.AUTODEV_BIN;
let n = 0;
let failed = 0;

function ok(cond, desc, detail) {
    n++;
    if (cond) {
        console.log(`ok ${n} - ${desc}`);
    } else {
        failed++;
        console.log(`not ok ${n} - ${desc}`);
        if (detail !== undefined)
            console.log(`#   ${JSON.stringify(detail).slice(0, 2000)}`);
    }
}

async function connect(token) {
    const env = { ...process.env };
    delete env.AUTODEV_TOKEN;
    if (token)
        env.AUTODEV_TOKEN = token;
    const transport = new StdioClientTransport({ command: bin, args: ["mcp"], env, stderr: "pipe" });
    const client = new Client({ name: "autodev-test", version: "1.0.0" });
    await client.connect(transport);
    return client;
}

// A call that must succeed: its structured result (the SDK validated it).
async function call(client, name, args) {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError)
        throw new Error(`${name}: ${r.content?.[0]?.text}`);
    const text = JSON.parse(r.content[0].text);
    if (JSON.stringify(text) !== JSON.stringify(r.structuredContent))
        throw new Error(`${name}: the text block is not the structured result`);
    return r.structuredContent;
}

async function step(desc, fn) {
    try {
        const v = await fn();
        ok(v !== false, desc, v);
    } catch (e) {
        ok(false, desc, String(e && e.stack || e));
    }
}

const WORK = ["episode_record", "skill_list", "skill_search", "skill_run", "task_run",
              "candidates_list", "candidate_show", "mutations_list", "research_setup",
              "research_edit", "research_run", "research_decide", "research_finalize",
              "research_status", "advise", "evolve_status"];
const REVIEW = ["candidate_approve", "candidate_reject", "mutation_approve", "mutation_reject"];

const local = await connect(null);
let tools = [];
await step("the server names itself and speaks the newest protocol", async () => {
    const v = local.getServerVersion();
    const caps = local.getServerCapabilities();
    return v.name === "autodev" && caps.tools !== undefined && caps.resources === undefined;
});
await step("tools/list: every work tool, each with input and output schemas, no review tool",
    async () => {
        tools = (await local.listTools()).tools;
        const names = tools.map((t) => t.name);
        const missing = WORK.filter((w) => !names.includes(w));
        const review = REVIEW.filter((w) => names.includes(w));
        const bad = tools.filter((t) => t.inputSchema?.type !== "object" ||
                                        t.outputSchema?.type !== "object");
        return missing.length === 0 && review.length === 0 && bad.length === 0 ||
               { missing, review, bad: bad.map((t) => t.name) };
    });
await step("ping answers", async () => (await local.ping(), true));
await step("episode_record records a failure", async () => {
    const r = await call(local, "episode_record", {
        agent: "bot", task_description: "count the words", success: false,
        error_trace: "ValueError: cannot count", input: { text: "a b" },
    });
    return typeof r.id === "string" && r.success === false || r;
});
await step("skill_list lists the catalog", async () => {
    const r = await call(local, "skill_list", { limit: 10 });
    return r.skills.some((s) => s.name === "word_count") || r;
});
await step("skill_search finds a skill by its words", async () => {
    const r = await call(local, "skill_search", { query: "count words" });
    return r.hits.length > 0 && r.hits[0].name === "word_count" || r;
});
await step("skill_run runs it in the sandbox", async () => {
    const r = await call(local, "skill_run", { skill: "word_count", input: { text: "a b c" } });
    return r.success === true && r.output === 3 || r;
});
await step("task_run runs an agent's task and records the episode", async () => {
    const r = await call(local, "task_run", {
        agent: "bot", description: "count the words", skill: "word_count",
        input: { text: "one two" }, expected: 2,
    });
    return r.success === true && r.skill === "word_count" && typeof r.episode_id === "string" || r;
});
await step("candidates_list answers a list", async () => {
    const r = await call(local, "candidates_list", { limit: 5 });
    return Array.isArray(r.candidates) || r;
});
await step("mutations_list answers a list", async () => {
    const r = await call(local, "mutations_list", {});
    return Array.isArray(r.mutations) || r;
});
await step("advise answers facts with counts, checked against its output schema", async () => {
    const r = await call(local, "advise", {});
    return (Array.isArray(r.facts) && typeof r.counts.high === "number") || r;
});
await step("evolve_status lists runs (none yet), checked against its output schema", async () => {
    const r = await call(local, "evolve_status", {});
    return (Array.isArray(r.runs) && r.runs.length === 0) || r;
});
await step("evolve_status of an unknown run is an error result", async () => {
    const r = await local.callTool({ name: "evolve_status",
                                     arguments: { run_id: "00000000-0000-7000-8000-000000000000" } });
    return r.isError === true || r;
});
await step("advise for an unknown agent is an error result", async () => {
    const r = await local.callTool({ name: "advise", arguments: { agent: "no-such-agent" } });
    return r.isError === true || r;
});
await step("a failing tool is a result with isError, not a protocol error", async () => {
    const r = await local.callTool({ name: "candidate_show",
                                     arguments: { id: "00000000-0000-7000-8000-000000000000" } });
    return r.isError === true && /no candidate/.test(r.content[0].text) || r;
});
await step("task_run with an unknown agent is an error result naming it", async () => {
    const r = await local.callTool({ name: "task_run",
                                     arguments: { agent: "ghost", description: "x" } });
    return r.isError === true && /unknown agent 'ghost'/.test(r.content[0].text) || r;
});
await step("an unknown tool is a JSON-RPC error (-32602)", async () => {
    try {
        await local.callTool({ name: "no_such_tool", arguments: {} });
        return false;
    } catch (e) {
        return e.code === -32602 || String(e);
    }
});
await step("bad arguments are a JSON-RPC error (-32602) naming the field", async () => {
    try {
        await local.callTool({ name: "skill_run", arguments: { skil: "word_count" } });
        return false;
    } catch (e) {
        return e.code === -32602 && /skil/.test(e.message) || String(e);
    }
});

// The research steps on a temporary git repository.
let sid = null;
await step("research_setup starts a session and measures the baseline", async () => {
    const r = await call(local, "research_setup", {
        repo: process.env.REPO, files: ["obj.py"], cmd: "/usr/bin/python3 obj.py",
        metric: "score", iterations: 4, repeats: 1,
    });
    sid = r.id;
    return typeof sid === "string" && r.baseline === 6 || r;
});
await step("research_edit, research_run, research_decide make one iteration", async () => {
    const e = await call(local, "research_edit", { session_id: sid });
    const m = await call(local, "research_run", { session_id: sid });
    const d = await call(local, "research_decide", { session_id: sid });
    return ["kept", "reverted", "crashed"].includes(d.decision) && d.seq === e.seq || { e, m, d };
});
await step("research_status shows the session and its iteration", async () => {
    const r = await call(local, "research_status", { session_id: sid });
    const all = await call(local, "research_status", {});
    return r.id === sid && r.iterations.length >= 1 && all.sessions.some((s) => s.id === sid) ||
           { r, all };
});
await step("research_finalize writes the report", async () => {
    const r = await call(local, "research_finalize", { session_id: sid });
    return r.files && r.report || r;
});
await step("research_edit of an unknown session is an error result", async () => {
    const r = await local.callTool({ name: "research_edit", arguments: { session_id: "nope" } });
    return r.isError === true || r;
});
await local.close();

// Roles: the review tools are listed for a reviewer, never for an agent token.
const reviewer = await connect(process.env.REVIEWER_TOKEN);
await step("a reviewer token sees the review tools, marked destructive", async () => {
    const t = (await reviewer.listTools()).tools;
    const rev = t.filter((x) => REVIEW.includes(x.name));
    return rev.length === 4 &&
           rev.every((x) => x.annotations?.destructiveHint === true &&
                            x.inputSchema.required.includes("confirm")) || rev;
});
await step("a review action without confirm: true changes nothing and says so", async () => {
    const r = await reviewer.callTool({ name: "candidate_reject", arguments: {
        id: "00000000-0000-7000-8000-000000000000", reason: "no", confirm: false } });
    return r.isError === true && /confirm: true/.test(r.content[0].text) || r;
});
await reviewer.close();

const agent = await connect(process.env.AGENT_TOKEN);
await step("an agent token sees no review tool and cannot call one", async () => {
    const t = (await agent.listTools()).tools.map((x) => x.name);
    try {
        await agent.callTool({ name: "candidate_approve", arguments: { id: "x", confirm: true } });
        return false;
    } catch (e) {
        return !t.some((x) => REVIEW.includes(x)) && t.includes("episode_record") &&
               e.code === -32602 || String(e);
    }
});
await agent.close();

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
