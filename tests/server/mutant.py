#!/usr/bin/python3
"""mutant.py DB SKILL DECISION REVIEW CODEFILE PARENT AGENT TESTSET: a mutation
of SKILL's current version with one scored variant; PARENT a mutation id or -,
AGENT an agent name or -, TESTSET yes or no. Prints the mutation's id and the
variant's."""
import json, sqlite3, sys, time, uuid
db, skill, decision, review, codefile, parent, agent, testset = sys.argv[1:9]
if db.startswith(("postgres://", "postgresql://")):
    # tests/pg: the same rows in PostgreSQL, through psql (psqldb.py).
    from psqldb import connect
    c = connect(db)
else:
    c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = 'default'").fetchone()
sid, vid = c.execute("SELECT id, current_version_id FROM skills WHERE tenant_id = ?"
                     " AND name = ?", (t, skill)).fetchone()
aid = None
if agent != "-":
    aid, = c.execute("SELECT id FROM agents WHERE tenant_id = ? AND name = ?",
                     (t, agent)).fetchone()
n, = c.execute("SELECT count(*) FROM tool_mutations").fetchone()
now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%03dZ" % n
mid, var = str(uuid.uuid4()), str(uuid.uuid4())
signals = {"repeats": 5, "noise_floor_pct": 3.0, "median_ms": {"parent": 12.5, "mutant": 7.25}}
risk = {"level": "low", "score": 0.1, "reasons": ["no new imports"]}
cases = [{"input": {"text": "a b c"}, "expected": 3, "source": "episode", "source_id": mid},
         {"input": {"text": "one"}, "source": "execution", "source_id": mid}]
c.execute("INSERT INTO tool_mutations (id, tenant_id, parent_tool_id, tool_name, mutated_code,"
          " sandbox_status, skill_id, parent_skill_version_id, agent_id, mutant_index, trigger,"
          " proposer, mutation_operator, test_set, proxy_signals, decision, decision_reason,"
          " fitness_delta, risk_score, risk, review_status, created_at, evaluated_at) VALUES"
          " (?, ?, ?, ?, ?, 'passed', ?, ?, ?, 0, 'latency', 'offline', 'llm', ?, ?, ?, ?, ?,"
          " 0.1, ?, ?, ?, ?)",
          (mid, t, None if parent == "-" else parent, skill, open(codefile).read(), sid, vid,
           aid, json.dumps(cases) if testset == "yes" else None, json.dumps(signals),
           None if decision == "-" else decision, "median latency down 42%, outputs equal",
           0.25 if decision == "won" else -0.1, json.dumps(risk),
           None if review == "-" else review, now, now))
c.execute("INSERT INTO workflow_variants (id, tenant_id, tool_mutation_id, skill_version_id,"
          " agent_id, workflow_definition, fitness_score, fitness_signals, evaluation_status,"
          " created_at) VALUES (?, ?, ?, ?, ?, '{\"skill\": \"w\"}', ?, ?, 'evaluated', ?)",
          (var, t, mid, vid, aid, 0.5 + n / 10.0, json.dumps({"proxy": {"syntax_error": False,
           "execution_success": True, "user_approved": False, "score": 0.5}}), now))
c.commit()
print(mid, var)
