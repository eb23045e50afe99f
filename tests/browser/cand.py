#!/usr/bin/python3
"""cand.py DB AGENT NAME DESCRIPTION TASK: a validated skill candidate of
agent AGENT waiting for review, written with SQL (as mutant.py writes
mutations), its code a function NAME(text) that counts the text's vowels.
DESCRIPTION and TASK go in as given: the browser test puts hostile text
there. Prints the candidate's id."""
import json, sqlite3, sys, time, uuid
db, agent, name, desc, task = sys.argv[1:6]
c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = 'default'").fetchone()
aid, = c.execute("SELECT id FROM agents WHERE tenant_id = ? AND name = ?", (t, agent)).fetchone()
n, = c.execute("SELECT count(*) FROM skill_candidates").fetchone()
now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%03dZ" % (500 + n)
cid = str(uuid.uuid4())
code = ('def %s(text: str) -> int:\n    """Count the vowels."""\n'
        '    return sum(1 for ch in text.lower() if ch in "aeiou")\n' % name)
pattern = {"task": task, "task_kind": "count", "error_type": "NoSkillError",
           "errors": ["NoSkillError: " + task], "tools_attempted": [],
           "examples": [{"episode_id": cid, "input": {"text": "banana"}, "expected": 3}],
           "episode_ids": [], "suggested_name": name, "proposer": "synth",
           "synth_summary": "counted from 1 example", "tokens": 0, "cost_usd": 0.0}
validation = {"checks": [{"name": "syntax", "ok": True, "error": None},
                         {"name": "example 1", "ok": True, "error": None}],
              "passed": 2, "total": 2, "summary": "2 of 2 checks passed", "held_out": 0,
              "warnings": [], "risk": {"level": "low", "score": 0.1, "reasons": ["no imports"]}}
c.execute("INSERT INTO skill_candidates (id, tenant_id, agent_id, skill_name, skill_description,"
          " generated_code, failure_pattern, validation_status, validation_result, fitness_score,"
          " review_status, risk_score, created_at, validated_at) VALUES"
          " (?, ?, ?, ?, ?, ?, ?, 'validated', ?, 1.0, 'pending', 0.1, ?, ?)",
          (cid, t, aid, name, desc, code, json.dumps(pattern), json.dumps(validation), now, now))
c.commit()
print(cid)
