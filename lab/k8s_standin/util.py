"""Shared helpers of the Kubernetes API stand-in: Status errors, selectors, patches, hashing."""
import copy
import datetime
import json
import re
import time

# ---------------------------------------------------------------- time

def rfc3339(ts=None):
    if ts is None:
        ts = time.time()
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ts):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % (d.microsecond * 1000)


def parse_ts(s):
    if not s:
        return None
    try:
        return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def human_duration(seconds):
    """Mirror of k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        return "%dy%dd" % (h // 24 // 365, (h // 24) % 365)
    return "%dy" % (h // 24 // 365)


# ---------------------------------------------------------------- errors

class ApiError(Exception):
    """An error answered as a metav1.Status object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        return st


def qualified(rt):
    return rt.plural + ("." + rt.group if rt.group else "")


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def conflict(rt, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again' % (qualified(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(rt, name, causes):
    """causes: list of (field, reason, message) -> 422 Invalid like the apiserver's field.ErrorList."""
    kind_q = rt.kind + ("." + rt.group if rt.group else "")
    msgs = ["%s: %s" % (f, m) for f, _, m in causes]
    msg = '%s "%s" is invalid: ' % (kind_q, name)
    msg += msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return ApiError(422, "Invalid", msg, {
        "name": name, "group": rt.group, "kind": rt.kind,
        "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


def go_value(v):
    """Rough rendering of a value the way Go's %#v shows it in validation messages."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "map[string]string{" + ", ".join('"%s":"%s"' % (k, v[k]) for k in sorted(v)) + "}"
    return json.dumps(v, sort_keys=True)


# ---------------------------------------------------------------- names

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def name_error(name, kind):
    if kind == "label":
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    elif kind == "1035":
        if len(name) > 63 or not DNS1035_LABEL.match(name):
            return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    elif kind == "path":   # RBAC objects: any path segment (e.g. system:basic-user)
        if name in (".", ".."):
            return "may not be '%s'" % name
        bad = [c for c in "/%" if c in name]
        if bad:
            return ", ".join("may not contain '%s'" % c for c in bad)
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


# ---------------------------------------------------------------- hashing

_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s):
    """k8s.io/apimachinery/pkg/util/rand.SafeEncodeString."""
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in s)


def template_hash(template, collision_count=0):
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


# ---------------------------------------------------------------- label selectors

class Selector:
    """A parsed label selector: list of (key, op, values). op in = != in notin exists !exists."""

    def __init__(self, reqs=None, nothing=False):
        self.reqs = reqs or []
        self.nothing = nothing

    def matches(self, labels):
        if self.nothing:
            return False
        labels = labels or {}
        for key, op, vals in self.reqs:
            has = key in labels
            v = labels.get(key)
            if op == "=" and (not has or v != vals[0]):
                return False
            if op == "!=" and has and v == vals[0]:
                return False
            if op == "in" and (not has or v not in vals):
                return False
            if op == "notin" and has and v in vals:
                return False
            if op == "exists" and not has:
                return False
            if op == "!exists" and has:
                return False
        return True

    def empty(self):
        return not self.reqs and not self.nothing

    def __str__(self):
        out = []
        for k, op, vals in self.reqs:
            if op in ("=", "!="):
                out.append("%s%s%s" % (k, op, vals[0]))
            elif op in ("in", "notin"):
                out.append("%s %s (%s)" % (k, op, ",".join(vals)))
            elif op == "exists":
                out.append(k)
            else:
                out.append("!" + k)
        return ",".join(out)


def _split_terms(s):
    terms, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


_SET_RE = re.compile(r"^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$")


def parse_label_selector(s):
    if not s:
        return Selector()
    reqs = []
    for t in _split_terms(s):
        m = _SET_RE.match(t)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), vals))
        elif "!=" in t:
            k, v = t.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in t:
            k, v = t.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in t:
            k, v = t.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif t.startswith("!"):
            reqs.append((t[1:].strip(), "!exists", []))
        elif re.match(r"^[A-Za-z0-9./_-]+$", t):
            reqs.append((t, "exists", []))
        else:
            raise bad_request('unable to parse requirement: found \'%s\', expected: \'=\', \'!=\', \'==\', \'in\', notin\'' % t)
        key = reqs[-1][0]
        if not key or not re.match(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", key):
            raise bad_request("unable to parse requirement: invalid label key \"%s\"" % key)
    return Selector(reqs)


def selector_from_label_selector(ls):
    """metav1.LabelSelector -> Selector. None matches nothing, {} matches everything."""
    if ls is None:
        return Selector(nothing=True)
    reqs = [(k, "=", [v]) for k, v in sorted((ls.get("matchLabels") or {}).items())]
    for e in ls.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(e.get("operator"))
        if op:
            reqs.append((e.get("key"), op, list(e.get("values") or [])))
    return Selector(reqs)


def parse_field_selector(s):
    out = []
    if not s:
        return out
    for t in _split_terms(s):
        if "!=" in t:
            k, v = t.split("!=", 1)
            out.append((k.strip(), False, v.strip()))
        elif "==" in t:
            k, v = t.split("==", 1)
            out.append((k.strip(), True, v.strip()))
        elif "=" in t:
            k, v = t.split("=", 1)
            out.append((k.strip(), True, v.strip()))
        else:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, t))
    return out


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
        if cur is None:
            return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matches(obj, fsel):
    for path, eq, v in fsel:
        if (field_value(obj, path) == v) != eq:
            return False
    return True


# ---------------------------------------------------------------- patches

def json_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


def _ptr_parts(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request("json patch: invalid path %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _ptr_parent(doc, parts, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                               None) from None
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise ApiError(422, "Invalid", "doc is missing path: \"%s\": missing value" % path, None)
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise bad_request("json patch: operation missing 'op'")
        kind, path = op["op"], op.get("path", "")
        parts = _ptr_parts(path)

        def get(p, ps):
            parent = _ptr_parent(doc, ps, p)
            last = ps[-1]
            if isinstance(parent, list):
                return parent[int(last)]
            if last not in parent:
                raise ApiError(422, "Invalid", "doc is missing key: %s" % p, None)
            return parent[last]

        def add(ps, value, p):
            nonlocal doc
            if not ps:
                doc = value
                return
            parent = _ptr_parent(doc, ps, p)
            last = ps[-1]
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last)
                parent.insert(idx, value)
            else:
                parent[last] = value

        def remove(ps, p):
            parent = _ptr_parent(doc, ps, p)
            last = ps[-1]
            if isinstance(parent, list):
                return parent.pop(int(last))
            if last not in parent:
                raise ApiError(422, "Invalid", "Unable to remove nonexistent key: %s: missing value" % last, None)
            return parent.pop(last)

        if kind == "add":
            add(parts, copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            remove(parts, path)
        elif kind == "replace":
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent = _ptr_parent(doc, parts, path)
                last = parts[-1]
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op.get("value"))
                else:
                    if last not in parent:
                        raise ApiError(422, "Invalid", "replace operation does not apply: doc is missing key: %s: "
                                       "missing value" % path, None)
                    parent[last] = copy.deepcopy(op.get("value"))
        elif kind in ("move", "copy"):
            fparts = _ptr_parts(op.get("from", ""))
            v = get(op.get("from"), fparts)
            if kind == "move":
                remove(fparts, op.get("from"))
            add(parts, copy.deepcopy(v), path)
        elif kind == "test":
            if get(path, parts) != op.get("value"):
                raise ApiError(422, "Invalid", "testing value %s failed: test failed" % path, None)
        else:
            raise bad_request("Unexpected kind: %s" % kind)
    return doc


# strategic merge: the merge keys of the lists the stand-in's types carry (from the Go struct tags)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    "ports": "containerPort", "resourceClaims": "name",
}
MERGE_PRIMITIVE_LISTS = {"finalizers"}


def _merge_key(field, parent_path):
    if field == "ports" and parent_path and parent_path[-1] == "spec" and "template" not in parent_path:
        return "port"  # ServiceSpec.ports
    return MERGE_KEYS.get(field)


def strategic_merge_patch(target, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(target)
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in (v or [])]
            continue
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        if isinstance(v, dict):
            res = strategic_merge_patch(cur, v, path + (k,))
            if res is None:
                out.pop(k, None)
            else:
                out[k] = res
        elif isinstance(v, list):
            key = _merge_key(k, path)
            if key and all(isinstance(x, dict) for x in v):
                out[k] = _merge_list(cur if isinstance(cur, list) else [], v, key, path + (k,))
            elif k in MERGE_PRIMITIVE_LISTS and isinstance(cur, list):
                out[k] = cur + [x for x in v if x not in cur]
            else:
                out[k] = [x for x in copy.deepcopy(v) if not (isinstance(x, dict) and x.get("$patch"))]
        else:
            out[k] = v
    for f, order in orders.items():
        key = _merge_key(f, path)
        if isinstance(out.get(f), list) and isinstance(order, list):
            if key:
                rank = {o.get(key): i for i, o in enumerate(order) if isinstance(o, dict)}
                out[f] = sorted(out[f], key=lambda x: rank.get(x.get(key) if isinstance(x, dict) else None, 1 << 30))
            else:
                rank = {o: i for i, o in enumerate(order)}
                out[f] = sorted(out[f], key=lambda x: rank.get(x, 1 << 30))
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(cur, patch, key, path):
    out = [copy.deepcopy(x) for x in cur]
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if x.get("$patch") != "replace"]
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge_patch({}, item, path))
        else:
            out[idx] = strategic_merge_patch(out[idx], item, path)
    return out


# ---------------------------------------------------------------- quantities

_SUFFIX = {"Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "m": 1e-3, "": 1}


def parse_quantity(q, default=0.0):
    if q is None:
        return default
    if isinstance(q, (int, float)):
        return float(q)
    m = re.match(r"^([0-9.]+)([A-Za-z]*)$", str(q).strip())
    if not m or m.group(2) not in _SUFFIX:
        return default
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def int_or_percent(v, total, round_up):
    if v is None:
        return 0
    if isinstance(v, str) and v.endswith("%"):
        frac = int(v[:-1]) * total / 100.0
        return int(-(-frac // 1)) if round_up else int(frac // 1)
    return int(v)
