"""Authorization as the apiserver's RBAC authorizer decides it, from the Role, ClusterRole, RoleBinding and
ClusterRoleBinding objects in the store.

A request is described by its attributes: user, verb, API group, resource, subresource, namespace, name. It is
allowed when one rule of a role bound to the user matches them all:

* a ClusterRoleBinding grants its ClusterRole's rules everywhere (cluster-scoped resources and every namespace);
  a RoleBinding grants its Role's (same namespace) or ClusterRole's rules in its own namespace only;
* a binding applies to a subject kind User (the user's name), Group (one of the user's groups) or
  ServiceAccount (user system:serviceaccount:<namespace>:<name>);
* a rule matches when its verbs and apiGroups hold the request's value or '*', its resources hold the resource
  ('<resource>/<subresource>' for a subresource, '*/<subresource>' or '*' for any), and its resourceNames,
  when it has any, hold the object's name (so never a create, nor a list without a metadata.name field selector).

Nothing is denied explicitly; what no rule allows is forbidden. Besides the RBAC objects, the stand-in's
built-in users carry fixed rules (user["rules"]: the admin every verb on everything, the read-only user get,
list and watch on everything), and every user may create selfsubjectaccessreviews, as the bootstrap
ClusterRole system:basic-user allows every authenticated user on a real cluster.
"""

GROUP = "rbac.authorization.k8s.io"
ALL = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
READ_ALL = {"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]}
BASIC_USER = [{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"]}]
METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


class Attributes:
    def __init__(self, verb, group, resource, subresource="", namespace="", name=""):
        self.verb, self.group, self.resource, self.subresource = verb, group, resource, subresource or ""
        self.namespace, self.name = namespace or "", name or ""


def request_attributes(method, query, rt, ns, name, sub, watch):
    """The attributes of a resource request, derived from its URL as the apiserver's RequestInfo does."""
    if method in ("GET", "HEAD"):
        watch = watch or (query.get("watch") or [""])[-1] in ("true", "1")
        verb = "watch" if watch else ("get" if name else "list")
        if not name:   # a list or watch of one object by its name can use rules with resourceNames
            for term in (query.get("fieldSelector") or [""])[-1].split(","):
                key, _, value = term.replace("==", "=").partition("=")
                if key.strip() == "metadata.name" and value.strip():
                    name = value.strip()
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = METHOD_VERBS.get(method, method.lower())
    if rt.group == "" and rt.plural == "namespaces" and name:
        ns = name   # /api/v1/namespaces/<name> is a request in that namespace
    return Attributes(verb, rt.group, rt.plural, sub, ns, name)


def rule_allows(rule, a):
    def has(values, value):
        return any(v == "*" or v == value for v in values or ())

    if not (has(rule.get("verbs"), a.verb) and has(rule.get("apiGroups"), a.group)):
        return False
    wanted = a.resource + "/" + a.subresource if a.subresource else a.resource
    if not any(r in ("*", wanted) or (a.subresource and r == "*/" + a.subresource)
               for r in rule.get("resources") or ()):
        return False
    return not rule.get("resourceNames") or a.name in rule["resourceNames"]


def _subject(binding, user, namespace):
    """The subject of the binding that is this user, or None."""
    for s in binding.get("subjects") or ():
        kind, name = s.get("kind"), s.get("name")
        if kind == "User" and name == user["name"]:
            return 'User "%s"' % name
        if kind == "Group" and name in user.get("groups", ()):
            return 'Group "%s"' % name
        if kind == "ServiceAccount":
            sa_ns = s.get("namespace") or namespace
            if user["name"] == "system:serviceaccount:%s:%s" % (sa_ns, name):
                return 'ServiceAccount "%s/%s"' % (name, sa_ns)
    return None


class Authorizer:
    def __init__(self, store, rtypes):
        """rtypes: {"roles": RType, "rolebindings": ..., "clusterroles": ..., "clusterrolebindings": ...}"""
        self.store, self.t = store, rtypes

    def authorize(self, user, a):
        """-> (allowed, reason): the reason as the apiserver words it ('' when it has none)."""
        for rule in list(user.get("rules") or ()) + BASIC_USER:
            if rule_allows(rule, a):
                return True, ("the stand-in grants %s to %s" % (user["grants"], user["name"])
                              if user.get("grants") else "")
        errors = []
        with self.store.lock:
            for source, rules, error in self._bound_rules(user, a.namespace):
                if error:
                    errors.append(error)
                elif any(rule_allows(r, a) for r in rules):
                    return True, "RBAC: allowed by " + source
        if not errors:
            return False, ""
        return False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")

    def _bound_rules(self, user, namespace):
        """(description, rules, error) of every binding that applies to the user: the ClusterRoleBindings, then
        the RoleBindings of the namespace (the order the apiserver visits them in)."""
        for e in list(self.store.data[self.t["clusterrolebindings"].key].values()):
            b = e.obj
            who = _subject(b, user, "")
            if who:
                ref = b.get("roleRef") or {}
                rules, error = self._role_rules(ref, "", cluster=True)
                yield 'ClusterRoleBinding "%s" of %s "%s" to %s' % (
                    b["metadata"]["name"], ref.get("kind"), ref.get("name"), who), rules, error
        if not namespace:
            return
        for (ns, _name), e in list(self.store.data[self.t["rolebindings"].key].items()):
            if ns != namespace:
                continue
            b = e.obj
            who = _subject(b, user, namespace)
            if who:
                ref = b.get("roleRef") or {}
                rules, error = self._role_rules(ref, namespace)
                yield 'RoleBinding "%s/%s" of %s "%s" to %s' % (
                    b["metadata"]["name"], namespace, ref.get("kind"), ref.get("name"), who), rules, error

    def _role_rules(self, ref, namespace, cluster=False):
        kind, name = ref.get("kind"), ref.get("name")
        if kind == "ClusterRole":
            role = self.store.get_obj(self.t["clusterroles"], None, name)
        elif kind == "Role" and not cluster:
            role = self.store.get_obj(self.t["roles"], namespace, name)
        else:
            return None, 'unsupported role reference kind: "%s"' % kind
        if role is None:
            return None, '%s.%s "%s" not found' % (kind.lower(), GROUP, name)
        return role.get("rules") or [], None
