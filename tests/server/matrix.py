#!/usr/bin/python3
"""The role x route and tenant x route matrices, driven by the server's own
OpenAPI document (so a route added to the table is in the matrix at once).

    matrix.py routes BASE
        Every documented operation exists: called with placeholder parameters
        (and no token), none is answered "no route" (404) or 405.
    matrix.py roles BASE ADMIN REVIEWER AGENT
        Every operation with every role: a role in the operation's x-roles is
        let through (neither 401 nor 403), any other is refused with 403; no
        token is 401; a public operation answers without one.
    matrix.py tenants BASE TOKEN FIXTURE
        Every operation with a path parameter, called with the token of
        another tenant and the ids and names of the fixture's tenant (a JSON
        object: episode, agent, agent_id, skill, candidate, notification, job,
        token, mutation, variant), is answered 404, and no answer holds any of the fixture's
        secrets (its "secrets": strings of its data). Every list answers
        without them too.

Each prints one JSON line {"ok", "checked", "problems"} and exits 1 unless ok.

    matrix.py fixture DB AGENT SKILL
        The fixture of the default tenant of database DB (sqlite3, read only;
        or a postgres:// URL, read through psql with psqldb.py):
        the ids of its agent AGENT, an episode, its skill SKILL, a candidate, an
        unread notification, a job, an agent token, a mutation and a variant,
        and the secrets.
"""

import http.client
import json
import sys
import uuid
from urllib.parse import urlparse

ROLES = ("admin", "reviewer", "agent")
# Public operations authenticated by a signature instead of a token: unsigned, they are 401.
SIGNED = {("POST", "/v1/fitness/{variant_id}/signals")}


def request(base, method, path, token=None, body=None, ctype="application/json", timeout=30):
    u = urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = ctype
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    # An event stream never ends: its headers are the answer.
    if r.getheader("Content-Type", "").startswith("text/event-stream"):
        c.close()
        return r.status, ""
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, data


def operations(base):
    _, doc = request(base, "GET", "/v1/openapi.json")
    doc = json.loads(doc)
    for path, item in sorted(doc["paths"].items()):
        for method, op in sorted(item.items()):
            yield method.upper(), path, op


def fill(path, values):
    out = []
    for seg in path.split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            seg = values.get(seg[1:-1], "nosuch")
        out.append(seg)
    return "/".join(out)


def body_of(op, blank="{}"):
    rb = op.get("requestBody")
    if not rb:
        return None, None
    ctype = next(iter(rb["content"]))
    return (blank if ctype == "application/json" else "\n"), ctype


def report(checked, problems):
    print(json.dumps({"ok": not problems, "checked": checked, "problems": problems[:30]}))
    return 0 if not problems else 1


def routes(base):
    problems, checked = [], 0
    # "asset": the web UI's files are public, so a real one (routes_ui.c).
    ph = {"id": str(uuid.uuid4()), "agent": "nosuch", "skill": "nosuch", "token": "nosuch",
          "asset": "app.js"}
    for method, path, op in operations(base):
        body, ctype = body_of(op)
        status, data = request(base, method, fill(path, ph), body=body, ctype=ctype or "")
        checked += 1
        if status == 405 or (status == 404 and "no route" in data):
            problems.append("%s %s: documented but not served (%d)" % (method, path, status))
    return report(checked, problems)


def roles(base, tokens):
    problems, checked = [], 0
    ph = {"id": str(uuid.uuid4()), "agent": "nosuch", "skill": "nosuch", "token": "nosuch",
          "asset": "app.js"}
    for method, path, op in operations(base):
        allowed = set(op.get("x-roles", []))
        url = fill(path, ph)
        body, ctype = body_of(op)
        if not allowed:
            status, _ = request(base, method, url, body=body, ctype=ctype or "")
            checked += 1
            want = 401 if (method, path) in SIGNED else 200
            if status != want:
                problems.append("%s %s: public, answered %d" % (method, path, status))
            continue
        status, _ = request(base, method, url, body=body, ctype=ctype or "")
        checked += 1
        if status != 401:
            problems.append("%s %s without a token: %d, not 401" % (method, path, status))
        for role in ROLES:
            status, data = request(base, method, url, token=tokens[role], body=body,
                                   ctype=ctype or "")
            checked += 1
            if role in allowed and status in (401, 403):
                problems.append("%s %s as %s: %d, but the role may" % (method, path, role,
                                                                        status))
            if role not in allowed and status != 403:
                problems.append("%s %s as %s: %d, not 403" % (method, path, role, status))
            if status >= 400 and "error" not in json.loads(data or '{"error": 1}'):
                problems.append("%s %s as %s: %d without an error body" % (method, path, role,
                                                                            status))
    return report(checked, problems)


# The path parameter of each route of the fixture's tenant, by route prefix.
def values_for(path, fx, by_id):
    v = {"agent": fx["agent_id"] if by_id else fx["agent"], "skill": fx["skill"],
         "token": fx["token"]}
    for prefix, key in (("/v1/episodes/", "episode"), ("/v1/candidates/", "candidate"),
                        ("/v1/notifications/", "notification"), ("/v1/jobs/", "job"),
                        ("/v1/mutations/", "mutation"), ("/v1/variants/", "variant")):
        if path.startswith(prefix):
            v["id"] = fx[key]
    return v


# Bodies that would act on the fixture's tenant if the tenant leaked.
BODIES = {
    ("POST", "/v1/episodes"): lambda fx: {"agent_id": fx["agent_id"], "task_description": "x",
                                          "success": False},
    ("POST", "/v1/tasks/run"): lambda fx: {"agent": fx["agent"], "description": "x"},
    ("POST", "/v1/skills/{skill}/run"): lambda fx: {"agent": fx["agent"]},
    ("POST", "/v1/skills/{skill}/rollback"): lambda fx: {"version": "1.0.0"},
    ("POST", "/v1/candidates/{id}/reject"): lambda fx: {"reason": "not yours"},
    ("POST", "/v1/candidates/{id}/test"): lambda fx: {"input": {"text": "x"}},
    ("POST", "/v1/mutations/{id}/reject"): lambda fx: {"reason": "not yours"},
    ("POST", "/v1/mutations/{id}/approve"): lambda fx: {"reason": "not yours"},
}


def tenants(base, token, fx):
    problems, checked = [], 0
    secrets = fx["secrets"]
    for method, path, op in operations(base):
        if not op.get("x-roles"):
            continue
        with_param = "{" in path
        make = BODIES.get((method, path))
        if not with_param and not make:
            if method == "GET" and path not in ("/metrics", "/v1/events"):
                status, data = request(base, method, path, token=token)
                checked += 1
                leaked = [s for s in secrets if s in data]
                if leaked:
                    problems.append("%s %s: shows another tenant's %s" % (method, path,
                                                                         leaked[0]))
            continue
        for by_id in (False, True):
            url = fill(path, values_for(path, fx, by_id))
            body, ctype = body_of(op)
            if make:
                body, ctype = json.dumps(make(fx)), "application/json"
            status, data = request(base, method, url, token=token, body=body,
                                   ctype=ctype or "")
            checked += 1
            if status != 404:
                problems.append("%s %s: %d, not 404" % (method, url, status))
            # What the request itself named may be echoed ("unknown agent 'x'"); nothing else.
            leaked = [s for s in secrets if s in data and s not in url and s not in (body or "")]
            if leaked:
                problems.append("%s %s: the answer holds %s" % (method, url, leaked[0]))
    return report(checked, problems)


def fixture(db_path, agent, skill):
    import sqlite3

    from psqldb import connect, is_url

    # A postgres:// URL (tests/pg): read through psql instead (psqldb.py).
    if is_url(db_path):
        db = connect(db_path)
    else:
        db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)

    def one(q, *args):
        return db.execute(q, args).fetchone()[0]

    fx = {
        "agent": agent,
        "agent_id": one("SELECT id FROM agents WHERE name = ?", agent),
        "episode": one("SELECT id FROM episodes LIMIT 1"),
        "skill": skill,
        "candidate": one("SELECT id FROM skill_candidates LIMIT 1"),
        "notification": one("SELECT id FROM notifications WHERE read_at IS NULL LIMIT 1"),
        "job": one("SELECT id FROM jobs LIMIT 1"),
        "token": one("SELECT id FROM api_tokens WHERE role = 'agent' LIMIT 1"),
        "mutation": one("SELECT id FROM tool_mutations LIMIT 1"),
        "variant": one("SELECT id FROM workflow_variants LIMIT 1"),
    }
    fx["secrets"] = ["SECRET-TASK", agent, skill, "find_order_number"] + \
        [fx[k] for k in ("agent_id", "episode", "candidate", "notification", "job", "token",
                         "mutation", "variant")]
    print(json.dumps(fx))
    return 0


def main():
    cmd, base = sys.argv[1], sys.argv[2]
    if cmd == "fixture":
        return fixture(base, sys.argv[3], sys.argv[4])
    if cmd == "routes":
        return routes(base)
    if cmd == "roles":
        return roles(base, dict(zip(ROLES, sys.argv[3:6])))
    with open(sys.argv[4]) as f:
        fx = json.load(f)
    return tenants(base, sys.argv[3], fx)


if __name__ == "__main__":
    sys.exit(main())
