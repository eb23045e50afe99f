-- wrk script of bench/bench_http.sh: POST /v1/episodes, one small episode a request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
    n = n + 1
    local body = string.format(
        '{"agent": "bench-agent", "task_description": "bench task %d", "success": %s,' ..
        ' "task_kind": "bench", "execution_seconds": 0.01, "token_usage": 12}',
        n, (n % 10 == 0) and "false" or "true")
    return wrk.format(nil, nil, nil, body)
end
