/*
 * The Python harness that runs inside the sandbox.
 *
 * argv: harness.py ENTRY [DIR [gate]]. It reads DIR/skill.py (default /skill)
 * and DIR/input.json, calls ENTRY and writes exactly one JSON line to fd 3.
 * With "gate" (the linux backend) it first reads one byte from fd 4 and runs
 * nothing of the skill unless it is 'g': the supervisor's helper writes it
 * once the run is in its cgroup, so the interpreter starts while the kernel
 * still moves the run (sandbox_linux.c), and an EOF there (the move failed)
 * ends the harness at once with exit status 125. The line:
 *
 *   {"ok": true, "output": <value>, "load_us": N, "call_us": N}
 *   {"ok": false, "error": {"type": ..., "message": ..., "traceback": ...},
 *    "load_us": N, "call_us": N}
 *
 * load_us is the skill's own load (compiling skill.py and running its top
 * level), call_us the entry call alone, each timed with
 * time.perf_counter_ns; a phase that did not end (it raised before, or
 * never started) is left out. Process start-up (the interpreter, this
 * harness, reading the files) is in neither: it is most of a small skill's
 * wall time and the same for every skill, so it would drown a real
 * difference between two versions in noise. The clock and the start times
 * are locals of _main, bound before any code of the skill runs, and the
 * line is written after the call returns: a skill that replaces
 * time.perf_counter_ns, or prints a line of its own on stdout, changes
 * neither number. (A skill that writes on fd 3 itself is refused by the
 * supervisor when the harness's line follows; sandbox_super.c.)
 *
 * Error messages and tracebacks are text for people: a NUL in them is
 * written "\0" and a lone surrogate "\udXXX", so that the line stays JSON
 * autodev carries (see parse_result_line in sandbox_super.c for the return
 * value, which is not rewritten).
 *
 * The skill's own stdout and stderr stay separate (fds 1 and 2), so prints
 * cannot corrupt the result. It ends with os._exit once the line is out, so
 * threads the skill left running cannot hold the run open. The input becomes keyword arguments when it is
 * an object whose keys fit the function's parameters (every key a parameter
 * or **kwargs present, every parameter without a default given), else the
 * one positional argument. A null input calls a function that needs no
 * argument with none. inspect is not imported: it would add several
 * milliseconds to every run; the code object says the same.
 *
 * Kept as a C string so the binary is self-contained; it is written into the
 * run's read-only /skill directory (or the process backend's run directory).
 */
#include "compat.h"

#include "sb_int.h"

const char ad__sb_harness_py[] =
    "import sys, os\n"
    "from time import perf_counter_ns as _clock\n"
    "def _fits(fn, data):\n"
    "    if data is None:\n"
    "        data = {}\n"
    "    if type(data) is not dict:\n"
    "        return False\n"
    "    c = getattr(fn, '__code__', None)\n"
    "    if c is None:\n"
    "        return False\n"
    "    npos, nkw, posonly = c.co_argcount, c.co_kwonlyargcount, c.co_posonlyargcount\n"
    "    names = c.co_varnames[:npos + nkw]\n"
    "    defaults = fn.__defaults__ or ()\n"
    "    kwdefaults = fn.__kwdefaults__ or {}\n"
    "    nreq = npos - len(defaults)\n"
    "    if posonly > 0 and nreq > 0:\n"
    "        return False\n"
    "    allowed = set(names[posonly:])\n"
    "    keys = set(data)\n"
    "    if not (c.co_flags & 0x08) and not keys <= allowed:\n"
    "        return False\n"
    "    required = set(names[posonly:max(nreq, posonly)])\n"
    "    required |= {n for n in names[npos:] if n not in kwdefaults}\n"
    "    return required <= keys\n"
    "def _text(s):\n"
    "    return s.replace('\\0', '\\\\0').encode('utf-8', 'backslashreplace').decode('utf-8')\n"
    "def _emit(obj, times):\n"
    "    import json\n"
    "    try:\n"
    "        line = json.dumps(obj, allow_nan=False, separators=(',', ':'))\n"
    "    except (TypeError, ValueError, RecursionError, OverflowError) as e:\n"
    "        obj = {'ok': False, 'error': {'type': 'TypeError',\n"
    "            'message': 'return value is not JSON: ' + _text(str(e)[:2000]),\n"
    "            'traceback': ''}}\n"
    "        line = json.dumps(obj)\n"
    "    for k, v in times:\n"
    "        line = line[:-1] + ',\"%s\":%d}' % (k, v)\n"
    "    data = (line + '\\n').encode('utf-8', 'replace')\n"
    "    while data:\n"
    "        n = os.write(3, data)\n"
    "        data = data[n:]\n"
    "    return 0 if obj['ok'] else 1\n"
    "def _error(e):\n"
    "    tb = ''\n"
    "    try:\n"
    "        import traceback\n"
    "        tb = ''.join(traceback.format_exception(type(e), e, e.__traceback__))\n"
    "    except BaseException:\n"
    "        pass\n"
    "    try:\n"
    "        msg = str(e)\n"
    "    except BaseException:\n"
    "        msg = '<unprintable>'\n"
    "    return {'ok': False, 'error': {'type': type(e).__name__, 'message': _text(msg[:4000]),\n"
    "            'traceback': _text(tb[-8000:])}}\n"
    "def _main():\n"
    "    clock = _clock\n"
    "    times = []\n"
    "    t0 = t1 = None\n"
    "    entry = sys.argv[1]\n"
    "    d = sys.argv[2] if len(sys.argv) > 2 else '/skill'\n"
    "    try:\n"
    "        import json\n"
    "        with open(d + '/input.json', 'rb') as f:\n"
    "            data = json.loads(f.read() or b'null')\n"
    "        with open(d + '/skill.py', 'rb') as f:\n"
    "            src = f.read()\n"
    "        if len(sys.argv) > 3:\n"
    "            if sys.argv[3] != 'gate' or os.read(4, 1) != b'g':\n"
    "                os._exit(125)\n"
    "            os.close(4)\n"
    "        g = {'__name__': '__skill__', '__file__': d + '/skill.py',\n"
    "             '__builtins__': __builtins__}\n"
    "        t0 = clock()\n"
    "        exec(compile(src, 'skill.py', 'exec'), g)\n"
    "        times.append(('load_us', (clock() - t0) // 1000))\n"
    "        fn = g.get(entry)\n"
    "        if not callable(fn):\n"
    "            raise NameError('entry %r is not a function defined by the skill' % entry)\n"
    "        kw = _fits(fn, data)\n"
    "        t1 = clock()\n"
    "        if kw:\n"
    "            out = fn(**(data or {}))\n"
    "        else:\n"
    "            out = fn(data)\n"
    "        times.append(('call_us', (clock() - t1) // 1000))\n"
    "        res = {'ok': True, 'output': out}\n"
    "    except BaseException as e:\n"
    "        if t1 is not None and not times[1:]:\n"
    "            times.append(('call_us', (clock() - t1) // 1000))\n"
    "        res = _error(e)\n"
    "    try:\n"
    "        sys.stdout.flush()\n"
    "        sys.stderr.flush()\n"
    "    except BaseException:\n"
    "        pass\n"
    "    return _emit(res, times)\n"
    "os._exit(_main())\n";

const size_t ad__sb_harness_py_len = sizeof(ad__sb_harness_py) - 1;
