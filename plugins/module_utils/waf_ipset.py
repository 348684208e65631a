# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Block and unblock addresses in AWS WAFv2 IP sets without losing concurrent changes.

Used by the waf_block_ip module; importable and testable without AnsibleModule: ``run()``
takes a boto3 ``wafv2`` client (or any object with the same methods) and plain parameters.

How it stays safe and cheap:

* every address is validated, masked or refused, and checked against protected ranges
  before any AWS call; the per-set capacity is checked before any write;
* an IP set is read once (``GetIPSet``) and written once (``UpdateIPSet``) for any number
  of addresses; a name or id is resolved with one ``ListIPSets`` page walk (an ARN needs none);
* ``UpdateIPSet`` replaces the whole list, guarded by the lock token of the read.  When another
  writer got in first (``WAFOptimisticLockException``) the set is read again and only this
  task's delta (its own additions and removals) is applied again, after a jittered backoff,
  a bounded number of times.  Concurrent tasks adding different addresses therefore all land;
* expiries live in tags of the IP set itself (see ``EXPIRY_TAG_PREFIX``): one group of tags
  per task, keyed by the expiry time and a random id, so concurrent tasks never overwrite
  each other's records.  New records are tagged before the addresses are written, so a
  block never exists without its expiry.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import random
import re
import time

from ansible_collections.clickview.runbook.plugins.module_utils import common
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # the module checks for boto3/botocore (AnsibleAWSModule) before calling in here

# AWS WAFv2 quotas: addresses per IP set, tags per resource, characters per tag value.
MAX_ADDRESSES = 10000
MAX_TAGS = 50
MAX_TAG_VALUE = 256

EXPIRY_TAG_PREFIX = "runbook:expires:"
_EXPIRY_TAG_RE = re.compile(r"^runbook:expires:(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z):([0-9a-f]+):(\d+)$")
_EXPIRY_FORMAT = "%Y-%m-%dT%H:%MZ"

# Refused unless allow_private: blocking them would cut off internal traffic, load balancer
# health checks or the VPN.  Documentation ranges (192.0.2.0/24, 2001:db8::/32 ...) are not here.
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16",
    "::/128", "::1/128", "fc00::/7", "fe80::/10",
))

_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:wafv2:(?P<region>[a-z0-9-]+):(?P<account>\d*):(?P<scope>regional|global)/ipset/"
    r"(?P<name>[\w-]+)/(?P<id>[\w-]+)$"
)
_FAMILY = {4: "IPV4", 6: "IPV6"}


class WafIpSetError(ClickviewError):
    """A refusal or failure worth a clear message; ``param`` names the option at fault."""

    def __init__(self, msg, param=None, code=None):
        super(WafIpSetError, self).__init__(msg, param=param)
        self.code = code


# --------------------------------------------------------------------------- validation

def parse_addresses(values, normalize=False, param="addresses"):
    """Turn user input into unique networks.

    A host becomes /32 or /128.  A CIDR with host bits set is refused, or masked when
    ``normalize`` is true.  Returns ``(networks, normalized)`` where ``normalized`` maps each
    masked input to the network it became.  All bad values are reported at once.
    """
    networks, normalized, seen, errors = [], {}, set(), []
    for value in values or []:
        text = str(value).strip()
        try:
            if not text or "%" in text:
                raise ValueError(text)
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            try:
                network = ipaddress.ip_network(text, strict=False) if text and "%" not in text else None
            except ValueError:
                network = None
            if network is None:
                errors.append("%r is not an IPv4/IPv6 address or CIDR (hostnames are not resolved)" % (value,))
                continue
            if not normalize:
                errors.append("%r has host bits set; use %s or set normalize: true" % (value, network))
                continue
            normalized[text] = str(network)
        if network not in seen:
            seen.add(network)
            networks.append(network)
    if errors:
        raise WafIpSetError("%s: %s; nothing changed" % (param, "; ".join(errors)), param=param)
    return networks, normalized


def parse_protected(values, allow_private=False, param="protected"):
    """The ranges no address may overlap: the user's ``protected`` list plus, unless allowed, private ranges."""
    ranges, errors = [], []
    for value in values or []:
        try:
            ranges.append((ipaddress.ip_network(str(value).strip(), strict=False), "protected"))
        except ValueError:
            errors.append("%r is not a CIDR" % (value,))
    if errors:
        raise WafIpSetError("%s: %s" % (param, "; ".join(errors)), param=param)
    if not allow_private:
        ranges.extend((network, "private, allow with allow_private: true") for network in PRIVATE_RANGES)
    return ranges


WIDEST_PREFIX = {4: 16, 6: 32}


def check_prefix_width(networks, allow_wide=False, param="addresses"):
    """Refuse, naming each, networks wider than /16 (IPv4) or /32 (IPv6) unless ``allow_wide``.

    Such a block covers whole providers or, like 2000::/3, every global IPv6 client; it is almost always a typo."""
    if allow_wide:
        return
    wide = [str(n) for n in networks if n.prefixlen < WIDEST_PREFIX[n.version]]
    if wide:
        raise WafIpSetError("%s: refusing prefixes wider than /%d (IPv4) or /%d (IPv6): %s; set allow_wide_prefix: true "
                            "if you really mean to block them; nothing changed"
                            % (param, WIDEST_PREFIX[4], WIDEST_PREFIX[6], ", ".join(wide)), param=param)


def check_protected(networks, ranges, param="addresses"):
    """Refuse, naming every overlap, when any network overlaps a protected range.

    Compares integer bounds (two networks overlap when neither ends before the other starts):
    the same answer as ``ipaddress``'s ``overlaps()``, fast enough for 10,000 addresses.
    """
    spans = [(p.version, int(p.network_address), int(p.broadcast_address), p, why) for p, why in ranges]
    overlaps = []
    for network in networks:
        version, first, last = network.version, int(network.network_address), int(network.broadcast_address)
        for p_version, p_first, p_last, protected, why in spans:
            if version == p_version and first <= p_last and p_first <= last:
                overlaps.append("%s overlaps %s (%s)" % (network, protected, why))
    if overlaps:
        raise WafIpSetError("%s: refusing to block protected ranges: %s; nothing changed" % (param, "; ".join(overlaps)),
                            param=param)


def parse_duration(text, param="expire_after"):
    """The collection's duration grammar (``24h``, ``90m``, ``1d12h``, ``2w``), at least one minute -> whole seconds."""
    try:
        return int(common.parse_duration(text, param, minimum=60))
    except ClickviewError as err:
        raise WafIpSetError(err.message, param=param)


def parse_ip_set_ref(ref, scope, region=None, param="ip_sets"):
    """An IP set named by ARN, name or id -> dict(ref, name, id); name/id are None until resolved."""
    text = str(ref).strip()
    if text.startswith("arn:"):
        match = _ARN_RE.match(text)
        if not match:
            raise WafIpSetError("%s: %r is not a WAFv2 IP set ARN" % (param, ref), param=param)
        arn_scope = "CLOUDFRONT" if match.group("scope") == "global" else "REGIONAL"
        if arn_scope != scope:
            raise WafIpSetError("scope: %s but IP set %r is %s" % (scope, text, arn_scope), param="scope")
        if scope == "REGIONAL" and region and match.group("region") != region:
            raise WafIpSetError("region: %s but IP set %r is in %s" % (region, text, match.group("region")),
                                param="region")
        return dict(ref=text, name=match.group("name"), id=match.group("id"), arn=text)
    if not re.match(r"^[\w-]{1,128}$", text):
        raise WafIpSetError("%s: %r is neither an IP set name, an id nor an ARN" % (param, ref), param=param)
    return dict(ref=text, name=None, id=None, arn=None)


# --------------------------------------------------------------------------- delta

def canonical(address):
    """Canonical text of an address already in a set (``None`` when AWS holds something odd).

    Remembered: a task compares the same few thousand entries several times (plan, capacity
    check, write, and again after a lost race).
    """
    try:
        return _CANONICAL[address]
    except KeyError:
        pass
    except TypeError:  # not hashable: not an address AWS would return
        return None
    try:
        text = str(ipaddress.ip_network(str(address).strip(), strict=False))
    except ValueError:
        text = None
    if len(_CANONICAL) < 100000:
        _CANONICAL[address] = text
    return text


_CANONICAL = {}


def apply_delta(existing, add=(), remove=()):
    """Apply this task's additions and removals to a set's current address list.

    Entries are compared in canonical form, so ``203.0.113.7/32`` already in the set matches
    ``203.0.113.7``; entries this task does not name are kept exactly as they are.
    Returns ``(new_list, added, removed, already_present, not_present)``.
    """
    present = set()
    for raw in existing:
        present.add(canonical(raw) or raw)
    remove = [str(n) for n in remove]
    remove_set = set(remove)
    new_list = [raw for raw in existing if (canonical(raw) or raw) not in remove_set]
    added, already = [], []
    for network in add:
        key = str(network)
        if key in remove_set:
            continue
        if key in present:
            already.append(key)
        else:
            added.append(key)
            new_list.append(key)
            present.add(key)
    removed = [key for key in remove if key in present]
    not_present = [key for key in remove if key not in present]
    return new_list, added, removed, already, not_present


# --------------------------------------------------------------------------- expiry records

def expiry_at(now, seconds):
    """The expiry of a block made ``now``, rounded up to the whole minute (tags keep minutes)."""
    moment = now + datetime.timedelta(seconds=seconds)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    return moment


def format_time(moment):
    return moment.strftime(_EXPIRY_FORMAT)


def parse_expiry_tags(tags):
    """Tags of an IP set -> list of records ``dict(key, expires, addresses)``; other tags are ignored."""
    records = []
    for tag in tags or []:
        match = _EXPIRY_TAG_RE.match(tag.get("Key", ""))
        if not match:
            continue
        expires = datetime.datetime.strptime(match.group(1), _EXPIRY_FORMAT).replace(tzinfo=common.UTC)
        addresses = [a for a in (canonical(v) for v in tag.get("Value", "").split()) if a]
        records.append(dict(key=tag["Key"], expires=expires, addresses=addresses))
    return records


def latest_expiries(records):
    """address -> its latest recorded expiry (a later block extends an earlier one)."""
    latest = {}
    for record in records:
        for address in record["addresses"]:
            if address not in latest or record["expires"] > latest[address]:
                latest[address] = record["expires"]
    return latest


def build_expiry_tags(expires, addresses, nonce):
    """Records for ``addresses`` expiring at ``expires`` as tags: space-separated CIDRs, chunked to fit."""
    tags, chunk, length = [], [], 0
    for address in addresses:
        if chunk and length + 1 + len(address) > MAX_TAG_VALUE:
            tags.append(chunk)
            chunk, length = [], 0
        length += len(address) + (1 if chunk else 0)
        chunk.append(address)
    if chunk:
        tags.append(chunk)
    stamp = format_time(expires)
    return [dict(Key="%s%s:%s:%d" % (EXPIRY_TAG_PREFIX, stamp, nonce, i), Value=" ".join(c)) for i, c in enumerate(tags, 1)]


def utcnow():
    return datetime.datetime.now(common.UTC)


# --------------------------------------------------------------------------- AWS calls

def error_code(exc):
    """The AWS error code of a botocore error; some endpoints answer a JSON API in XML (403 + <Code>)."""
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    code = error.get("Code")
    if code and code.isdigit():
        match = re.search(r"<Code>(\w+)</Code>", error.get("Message") or "")
        code = match.group(1) if match else "HTTP%s" % code
    return code


def error_message(exc):
    """A one-line message for a botocore error."""
    response = getattr(exc, "response", None) or {}
    message = response.get("Error", {}).get("Message") or str(exc)
    match = re.search(r"<Message>(.*?)</Message>", message)
    return match.group(1) if match else message


def backoff(attempt, rng=random.random, base=0.1, cap=3.0):
    """Full jitter: a random wait in [0, min(cap, base * 2**attempt)]."""
    return rng() * min(cap, base * (2 ** attempt))


def resolve_ip_sets(client, refs, scope):
    """Fill in name and id of refs given by name or id: one ListIPSets walk, stopped once all are found."""
    pending = [r for r in refs if r["id"] is None]
    marker = None
    while pending:
        kwargs = dict(Scope=scope, Limit=100)
        if marker:
            kwargs["NextMarker"] = marker
        page = client.list_ip_sets(**kwargs)
        for summary in page.get("IPSets", []):
            for ref in pending:
                if ref["ref"] in (summary.get("Name"), summary.get("Id")):
                    if ref["id"] is not None and ref["id"] != summary.get("Id"):
                        raise WafIpSetError("ip_sets: %r matches more than one %s IP set; use its ARN" % (ref["ref"], scope),
                                            param="ip_sets")
                    ref.update(name=summary["Name"], id=summary["Id"], arn=summary.get("ARN"))
        pending = [r for r in pending if r["id"] is None]
        marker = page.get("NextMarker")
        if not marker or not page.get("IPSets"):
            break
    if pending:
        raise WafIpSetError("ip_sets: no %s IP set named (or with id) %s; nothing changed"
                            % (scope, ", ".join(repr(r["ref"]) for r in pending)), param="ip_sets")
    return refs


def get_ip_set(client, ref, scope):
    try:
        response = client.get_ip_set(Name=ref["name"], Scope=scope, Id=ref["id"])
    except ClientError as exc:
        if error_code(exc) == "WAFNonexistentItemException":
            raise WafIpSetError("ip_sets: IP set %r does not exist in scope %s; nothing changed" % (ref["ref"], scope),
                                param="ip_sets", code="WAFNonexistentItemException")
        raise
    ip_set = response["IPSet"]
    ip_set["LockToken"] = response["LockToken"]
    return ip_set


def update_with_lock_retry(client, ip_set, scope, mutate, lock_retries, sleep=time.sleep, rng=random.random):
    """Write ``mutate(current_addresses)`` guarded by the lock token; on a lost race re-read and re-apply.

    ``mutate`` returns ``(new_addresses, info)``, or ``(None, info)`` when nothing is to be written.
    Returns ``(ip_set, info, lock_retries_used, written)``.
    """
    retries = 0
    while True:
        new_addresses, info = mutate(ip_set["Addresses"])
        if new_addresses is None:
            return ip_set, info, retries, False
        kwargs = dict(Name=ip_set["Name"], Scope=scope, Id=ip_set["Id"], Addresses=new_addresses, LockToken=ip_set["LockToken"])
        if ip_set.get("Description"):
            kwargs["Description"] = ip_set["Description"]  # UpdateIPSet clears what it is not given
        try:
            response = client.update_ip_set(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "WAFOptimisticLockException":
                raise
            if retries >= lock_retries:
                raise WafIpSetError("IP set %s kept changing under this task: gave up after %d lock retries "
                                    "(raise lock_retries); nothing changed in it" % (ip_set["Name"], retries),
                                    param="lock_retries", code="WAFOptimisticLockException")
            retries += 1
            sleep(backoff(retries, rng))
            ip_set = get_ip_set(client, dict(name=ip_set["Name"], id=ip_set["Id"], ref=ip_set["Name"]), scope)
            continue
        ip_set = dict(ip_set, Addresses=new_addresses, LockToken=response.get("NextLockToken"))
        return ip_set, info, retries, True


def list_tags(client, arn):
    tags, marker = [], None
    while True:
        kwargs = dict(ResourceARN=arn)
        if marker:
            kwargs["NextMarker"] = marker
        page = client.list_tags_for_resource(**kwargs)
        tags.extend(page.get("TagInfoForResource", {}).get("TagList", []) or [])
        marker = page.get("NextMarker")
        if not marker:
            return tags


# --------------------------------------------------------------------------- the task

def validate(params):
    """Everything checkable without AWS. Returns the parsed request; raises WafIpSetError."""
    scope = params.get("scope") or "REGIONAL"
    if scope not in ("REGIONAL", "CLOUDFRONT"):
        raise WafIpSetError("scope: %r must be REGIONAL or CLOUDFRONT" % (scope,), param="scope")
    state = params.get("state") or "present"
    refs_in = params.get("ip_sets") or []
    if not refs_in:
        raise WafIpSetError("ip_sets: name at least one IP set (name, id or ARN)", param="ip_sets")
    refs = [parse_ip_set_ref(r, scope, params.get("region")) for r in refs_in]
    addresses = params.get("addresses")
    purge = bool(params.get("purge_expired"))
    if addresses is None and not purge:
        raise WafIpSetError("addresses: required unless purge_expired: true", param="addresses")
    if addresses is not None and len(addresses) == 0:
        raise WafIpSetError("addresses: the list is empty; name the addresses to %s"
                            % ("block" if state == "present" else "unblock"), param="addresses")
    networks, normalized = parse_addresses(addresses, params.get("normalize", False))
    if state == "present":
        check_prefix_width(networks, params.get("allow_wide_prefix", False))
        check_protected(networks, parse_protected(params.get("protected"), params.get("allow_private", False)))
    for version in (4, 6):
        count = len([n for n in networks if n.version == version])
        if count > MAX_ADDRESSES:
            raise WafIpSetError("addresses: %d IPv%d addresses exceed the AWS limit of %d per IP set; nothing changed"
                                % (count, version, MAX_ADDRESSES), param="addresses")
    expire_seconds = None
    if params.get("expire_after") not in (None, ""):
        if state != "present":
            raise WafIpSetError("expire_after: only meaningful with state: present", param="expire_after")
        expire_seconds = parse_duration(params["expire_after"])
    lock_retries = params.get("lock_retries", 10)
    if lock_retries is None or lock_retries < 0:
        raise WafIpSetError("lock_retries: must be 0 or more", param="lock_retries")
    return dict(scope=scope, state=state, refs=refs, networks=networks, normalized=normalized, purge=purge,
                expire_seconds=expire_seconds, lock_retries=lock_retries)


def _plan_set(req, ip_set, networks, records, now, nonce):
    """What this task does to one IP set (no AWS calls): additions, removals and expiry records."""
    plan = dict(add=[], remove=[], purged=[], new_tags=[], drop_keys=[], retag=[], expiries={})
    latest = latest_expiries(records)
    current = set(canonical(a) or a for a in ip_set["Addresses"])
    wanted = [str(n) for n in networks]
    if req["state"] == "present":
        plan["add"] = wanted
        if req["expire_seconds"]:
            expires = expiry_at(now, req["expire_seconds"])
            tolerance = datetime.timedelta(seconds=max(60, req["expire_seconds"] // 10))
            record = []
            for address in wanted:
                known = latest.get(address)
                if address in current and known is None:
                    plan["expiries"][address] = None  # blocked for good by someone else: left so
                elif known is not None and known >= expires - tolerance:
                    plan["expiries"][address] = format_time(known)
                else:
                    record.append(address)
                    latest[address] = expires
                    plan["expiries"][address] = format_time(expires)
            plan["new_tags"] = build_expiry_tags(expires, record, nonce) if record else []
        else:
            for address in wanted:
                plan["expiries"][address] = format_time(latest[address]) if address in latest else None
    else:
        plan["remove"] = list(wanted)
        # unblocked addresses must not keep records that a later purge would act on
        gone = set(wanted)
        for record in records:
            if gone.intersection(record["addresses"]):
                keep = [a for a in record["addresses"] if a not in gone]
                if keep:
                    plan["retag"].append(dict(Key=record["key"], Value=" ".join(keep)))
                else:
                    plan["drop_keys"].append(record["key"])
    if req["purge"]:
        expired_keys = [r["key"] for r in records if r["expires"] <= now]
        plan["drop_keys"].extend(k for k in expired_keys if k not in plan["drop_keys"])
        plan["retag"] = [t for t in plan["retag"] if t["Key"] not in expired_keys]
        for address, expires in sorted(latest.items()):
            if expires <= now and address in current and address not in plan["add"]:
                plan["purged"].append(address)
                if address not in plan["remove"]:
                    plan["remove"].append(address)
    return plan


def run(client, params, check_mode=False, now=None, sleep=time.sleep, rng=random.random, nonce=None):
    """Do the whole task. Returns the module result (changed, ip_sets, added, removed, ..., diff)."""
    req = validate(params)
    now = now or utcnow()
    nonce = nonce or "%06x" % random.getrandbits(24)
    scope = req["scope"]
    refs = resolve_ip_sets(client, req["refs"], scope)

    # read every set first: route by family, check capacity and tag quota before any write
    targets, by_version = [], {}
    for ref in refs:
        ip_set = get_ip_set(client, ref, scope)
        version = ip_set.get("IPAddressVersion")
        if version in by_version:
            raise WafIpSetError("ip_sets: %s and %s are both %s sets; name at most one per IP version"
                                % (by_version[version]["ip_set"]["Name"], ip_set["Name"], version), param="ip_sets")
        target = dict(ref=ref, ip_set=ip_set, version=version)
        by_version[version] = target
        targets.append(target)
    for version in (4, 6):
        if any(n.version == version for n in req["networks"]) and _FAMILY[version] not in by_version:
            raise WafIpSetError("ip_sets: addresses include IPv%d but none of %s is an %s set; nothing changed"
                                % (version, ", ".join(r["ref"] for r in refs), _FAMILY[version]), param="ip_sets")
    need_tags = req["expire_seconds"] or req["purge"] or req["state"] == "absent"
    for target in targets:
        ip_set = target["ip_set"]
        networks = [n for n in req["networks"] if _FAMILY[n.version] == target["version"]]
        target["tags"] = list_tags(client, ip_set["ARN"]) if need_tags else []
        records = parse_expiry_tags(target["tags"])
        target["plan"] = plan = _plan_set(req, ip_set, networks, records, now, nonce)
        new_list = apply_delta(ip_set["Addresses"], plan["add"], plan["remove"])[0]
        if len(new_list) > MAX_ADDRESSES:
            raise WafIpSetError("addresses: IP set %s would hold %d entries, over the AWS limit of %d; nothing changed"
                                % (ip_set["Name"], len(new_list), MAX_ADDRESSES), param="addresses")
        tag_count = len(target["tags"]) + len(plan["new_tags"]) - len(plan["drop_keys"])
        if plan["new_tags"] and tag_count > MAX_TAGS:
            raise WafIpSetError("expire_after: recording these expiries needs %d tags on IP set %s, over the AWS limit "
                                "of %d; purge expired blocks or block fewer addresses per task; nothing changed"
                                % (tag_count, ip_set["Name"], MAX_TAGS), param="expire_after")

    result = dict(changed=False, ip_sets=[], added=[], removed=[], already_present=[], not_present=[], purged=[],
                  normalized=req["normalized"], expiries={}, lock_retries=0, diff=[])
    done = []
    try:
        for target in targets:
            _apply_target(client, req, target, result, check_mode, now, sleep, rng)
            done.append(target)
    except (WafIpSetError, ClientError, BotoCoreError) as exc:
        undone = _rollback(client, scope, done, sleep, rng)
        if isinstance(exc, WafIpSetError):
            if undone:
                exc.msg += "; rolled back the change to %s" % ", ".join(undone)
            raise exc
        raise WafIpSetError("%s: %s%s" % (error_code(exc) or type(exc).__name__, error_message(exc),
                                          "; rolled back the change to %s" % ", ".join(undone) if undone else ""),
                            code=error_code(exc))
    return result


def _still_expired(client, ip_set, plan, now):
    """Drop from the purge every address another task has blocked again since the tags were read (a new
    block's record is written before its addresses, and a block extended in place writes only a record)."""
    latest = latest_expiries(parse_expiry_tags(list_tags(client, ip_set["ARN"])))
    extended = set(a for a in plan["purged"] if latest.get(a) is not None and latest[a] > now)
    if extended:
        plan["purged"] = [a for a in plan["purged"] if a not in extended]
        plan["remove"] = [a for a in plan["remove"] if a not in extended]


def _apply_target(client, req, target, result, check_mode, now, sleep, rng):
    scope, plan, ip_set = req["scope"], target["plan"], target["ip_set"]
    before = list(ip_set["Addresses"])
    outcome = {}

    def mutate(addresses):
        if plan["purged"]:  # just before each write: another task may have extended a block meanwhile
            _still_expired(client, ip_set, plan, now)
        new_list, added, removed, already, not_present = apply_delta(addresses, plan["add"], plan["remove"])
        if len(new_list) > MAX_ADDRESSES:
            raise WafIpSetError("addresses: IP set %s would hold %d entries, over the AWS limit of %d; nothing changed"
                                % (ip_set["Name"], len(new_list), MAX_ADDRESSES), param="addresses")
        outcome.update(added=added, removed=removed, already=already, not_present=not_present)
        return (new_list if added or removed else None), new_list

    tag_changes = bool(plan["new_tags"] or plan["drop_keys"] or plan["retag"])
    if check_mode:
        new_list = mutate(ip_set["Addresses"])[1]
        written, retries = bool(outcome["added"] or outcome["removed"]), 0
    else:
        if plan["new_tags"]:
            client.tag_resource(ResourceARN=ip_set["ARN"], Tags=plan["new_tags"])
            target["tagged"] = [t["Key"] for t in plan["new_tags"]]
        try:
            ip_set, new_list, retries, written = update_with_lock_retry(client, ip_set, scope, mutate, req["lock_retries"], sleep, rng)
        except (WafIpSetError, ClientError, BotoCoreError):
            if target.get("tagged"):  # the records of a block that did not happen
                client.untag_resource(ResourceARN=ip_set["ARN"], TagKeys=target["tagged"])
            raise
        target["ip_set"] = ip_set
        target["written"] = dict(added=outcome["added"], removed=outcome["removed"]) if written else None
        if plan["retag"]:
            client.tag_resource(ResourceARN=ip_set["ARN"], Tags=plan["retag"])
        if plan["drop_keys"]:
            client.untag_resource(ResourceARN=ip_set["ARN"], TagKeys=plan["drop_keys"])
    result["changed"] = result["changed"] or written or tag_changes
    result["lock_retries"] += retries
    result["added"].extend(outcome["added"])
    result["removed"].extend(outcome["removed"])
    result["already_present"].extend(outcome["already"])
    result["not_present"].extend(a for a in outcome["not_present"] if a not in plan["purged"])
    result["purged"].extend(a for a in plan["purged"] if a in outcome["removed"])
    result["expiries"].update(plan["expiries"])
    result["ip_sets"].append(dict(name=ip_set["Name"], id=ip_set["Id"], arn=ip_set["ARN"], scope=scope,
                                  ip_address_version=target["version"], address_count=len(new_list)))
    if written:
        result["diff"].append(dict(before_header="%s (%s)" % (ip_set["Name"], scope), after_header="%s (%s)" % (ip_set["Name"], scope),
                                   before="".join("%s\n" % a for a in sorted(before)),
                                   after="".join("%s\n" % a for a in sorted(new_list))))


def _rollback(client, scope, done, sleep, rng):
    """Best effort: undo this task's own delta on sets already written when a later set fails."""
    undone = []
    for target in done:
        written = target.get("written")
        if not written:
            continue
        try:
            update_with_lock_retry(client, target["ip_set"], scope,
                                   lambda a, w=written: _inverse(a, w), 10, sleep, rng)
            if target.get("tagged"):
                client.untag_resource(ResourceARN=target["ip_set"]["ARN"], TagKeys=target["tagged"])
            undone.append(target["ip_set"]["Name"])
        except (WafIpSetError, ClientError, BotoCoreError):
            continue
    return undone


def _inverse(addresses, written):
    new_list, added, removed = apply_delta(addresses, written["removed"], written["added"])[:3]
    return (new_list if added or removed else None), None
