"""Registrations' hot state: each registration, and its conference's places, in Redis.

A registration is created and every later change of it is made by a Lua script that
checks the registration's version (its latest change number), writes the new document,
keeps the conference's counters and queues in step, and appends the document to the
change stream (:mod:`meeteasy.changes`), all at once. The flusher stores it in MongoDB
later, in bulk (:func:`flush`). Nothing here talks to MongoDB on the way of a request.

Per registration: a hash ``d`` (the document as MongoDB stores it, in extended JSON),
``v`` (its change number) and ``s`` (its status), kept :data:`DOC_TTL` after its last
change; a registration Redis no longer has is loaded from MongoDB, once every change so
far is flushed, before it changes again.

Per conference (:class:`Keys`): who is registered (``people``: ``u:<user id>`` and
``e:<email>`` → registration id, what makes a person register once), how many
registrations are in each status (``counts``), the policy's queue (``pending``: the
registrations it has not looked at, by arrival number), the waitlist (by waitlist
number), the arrival and waitlist counters, and ``ready``, set once all of these hold
what MongoDB holds. A conference without ``ready`` (new, or Redis lost its data) is
built from MongoDB by :func:`build` before anyone registers.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from bson import ObjectId, json_util
from pymongo import DeleteOne, ReplaceOne
from pymongo.errors import BulkWriteError
from redis.commands.core import Script

from meeteasy import changes, locks
from meeteasy.flusher import insert_new, raise_unless_duplicates
from meeteasy.errors import TransientError
from meeteasy.redisconn import get_redis
from meeteasy.settings import get_settings
from models import job_state

log = logging.getLogger(__name__)
DOC_TTL = 3600  # seconds a registration stays hot after its last change (the flusher
# stores it within ~100 ms; past that, it is read from MongoDB and loaded to change it)
# How long a queued approval task counts as due (others' jobs join it) at most: should
# its message be lost, beat's sweep decides the joined registrations and ends their jobs.
JOIN_FLAG_MS = 30_000
SETTLE_WAIT = 2.0  # seconds a MongoDB reader waits for the flusher (then reads what is there)
# "tenant:conference" of every conference whose policy queue may hold registrations:
# beat's sweep runs their pass, so a registration whose approval job was lost (Redis
# went away between recording it and starting its job) is decided all the same.
QUEUED = "meeteasy:registrations:queued-conferences"


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one conference's registrations."""

    ready: str
    people: str
    counts: str
    pending: str
    waitlist: str
    arrivals: str
    waitlist_numbers: str
    pass_due: str  # set while an approval task is queued for the conference
    joined_jobs: str  # registration id → the approval job that joined that task

    @classmethod
    def of(cls, tenant_id: str, conference_id: str) -> Keys:
        base = f"meeteasy:conference:{tenant_id}:{conference_id}:registrations"
        return cls(*(f"{base}:{name}" for name in
                     ("ready", "people", "counts", "pending", "waitlist", "arrivals",
                      "waitlist_numbers", "pass_due", "joined_jobs")))


def doc_key(tenant_id: str, registration_id: str) -> str:
    return f"meeteasy:registration:{tenant_id}:{registration_id}"


def person_keys(user_id: str | None, email: str | None) -> list[str]:
    return [prefix + value for prefix, value in (("u:", user_id), ("e:", email)) if value]


# --- encoding -------------------------------------------------------------------------------

def encode(son: dict) -> str:
    """A document as its scripts store it: extended JSON without ``change_seq`` and
    without the closing brace (the script appends its change number, and at creation
    its arrival number)."""
    son = {name: value for name, value in son.items() if name != "change_seq"}
    return json_util.dumps(son, json_options=changes.JSON)[:-1]


def decode(text: str | bytes) -> dict:
    return json.loads(text, object_hook=changes.object_hook)


# --- scripts --------------------------------------------------------------------------------

# KEYS[3..9] ready, people, counts, pending, arrivals, the registration's hash, QUEUED.
# ARGV[1] the document (see encode), ARGV[2] its id, ARGV[3] DOC_TTL, ARGV[4] the
# conference's member of QUEUED, ARGV[5..] its people.
# Answers {'ok', document}, {'taken', registration id} or {'cold'} (build the conference).
_REGISTER = changes.script("""
if redis.call('EXISTS', KEYS[3]) == 0 then return {'cold'} end
for i = 5, #ARGV do
  local holder = redis.call('HGET', KEYS[4], ARGV[i])
  if holder then return {'taken', holder} end
end
local seq = redis.call('INCR', KEYS[7])
local change = next_seq()
local doc = ARGV[1] .. ',"seq":' .. seq .. ',"change_seq":' .. change .. '}'
redis.call('HSET', KEYS[8], 'd', doc, 'v', change, 's', 'pending')
redis.call('EXPIRE', KEYS[8], ARGV[3])
for i = 5, #ARGV do redis.call('HSET', KEYS[4], ARGV[i], ARGV[2]) end
redis.call('HINCRBY', KEYS[5], 'pending', 1)
redis.call('ZADD', KEYS[6], seq, ARGV[2])
redis.call('SADD', KEYS[9], ARGV[4])
append('registrations', change, doc)
return {'ok', doc}
""")

# Changes of one conference's registrations, each applied only if the registration is
# still at the version it was read at. KEYS[3..6] ready, counts, pending, waitlist, then
# each registration's hash. ARGV[1] DOC_TTL, then per change: expected version, id, new
# status, whether it stays in the policy's queue (1/0), waitlist number or '', document.
# Answers each change's new number, or 0 where the registration had moved on.
_APPLY = changes.script("""
local ready = redis.call('EXISTS', KEYS[3]) == 1
local out = {}
for i = 1, #KEYS - 6 do
  local key, at = KEYS[6 + i], 1 + (i - 1) * 6
  local expected, id, status = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local have = redis.call('HMGET', key, 'v', 's')
  if have[1] ~= expected then
    out[i] = 0
  else
    local change = next_seq()
    local doc = ARGV[at + 6] .. ',"change_seq":' .. change .. '}'
    redis.call('HSET', key, 'd', doc, 'v', change, 's', status)
    redis.call('EXPIRE', key, ARGV[1])
    -- Until the conference is built its counters and queues are absent; the build
    -- reads MongoDB once this change is flushed.
    if ready then
      if have[2] ~= status then
        redis.call('HINCRBY', KEYS[4], have[2], -1)
        redis.call('HINCRBY', KEYS[4], status, 1)
      end
      if ARGV[at + 4] ~= '1' then redis.call('ZREM', KEYS[5], id) end
      if status == 'waitlisted' then
        redis.call('ZADD', KEYS[6], ARGV[at + 5], id)
      else
        redis.call('ZREM', KEYS[6], id)
      end
    end
    append('registrations', change, doc)
    out[i] = change
  end
end
return out
""")

# A registration read from MongoDB, written into Redis unless Redis has it.
_LOAD = Script(None, b"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
""")


# --- creating -------------------------------------------------------------------------------

def create(tenant_id: str, conference_id: str, son: dict, people: list[str], build_from,
           also=None) -> tuple[str, dict | str, object]:
    """Record a new registration (``son`` without ``seq``): ``("ok", document, extra)``
    with its arrival number, or ``("taken", id, None)`` when one of ``people`` is
    registered already. A conference not built yet is built first (``build_from``: see
    :func:`build`). ``also(pipe, key)`` queues more commands in the same transaction, to
    take effect only if the registration is recorded (its hash ``key`` exists): its
    answer is ``extra``. Redis out of reach: nothing is written, the error is raised."""
    keys = Keys.of(tenant_id, conference_id)
    registration_id = str(son["_id"])
    registration_key = doc_key(tenant_id, registration_id)
    for _ in range(2):
        pipe = get_redis().pipeline(transaction=True)
        _REGISTER(keys=changes.keys(keys.ready, keys.people, keys.counts, keys.pending,
                                    keys.arrivals, registration_key, QUEUED),
                  args=[encode(son), registration_id, DOC_TTL, f"{tenant_id}:{conference_id}",
                        *people], client=pipe)
        if also is not None:
            also(pipe, registration_key)
        answers = pipe.execute()
        answer, extra = answers[0], (answers[1] if also is not None else None)
        outcome = answer[0].decode()
        if outcome == "ok":
            return "ok", decode(answer[1]), extra
        if outcome == "taken":
            return "taken", answer[1].decode(), None
        build(tenant_id, conference_id, build_from)
    raise TransientError("The conference's registrations are being rebuilt; try again.")


# --- changing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """A registration's next document, to apply over the version it was read at."""

    son: dict
    version: int
    keep_queued: bool = False  # still waiting for the policy (a seating change)


def apply(tenant_id: str, conference_id: str, planned: list[Change]) -> list[int]:
    """Apply changes of one conference's registrations: each one's new change number,
    or 0 where the registration moved on since it was read (nothing was written)."""
    if not planned:
        return []
    keys = Keys.of(tenant_id, conference_id)
    args: list = [DOC_TTL]
    for change in planned:
        son = change.son
        args += [change.version, str(son["_id"]), son["status"], int(change.keep_queued),
                 son.get("waitlist_seq") or "", encode(son)]
    answer = _APPLY(keys=changes.keys(keys.ready, keys.counts, keys.pending, keys.waitlist,
                                      *(doc_key(tenant_id, str(c.son["_id"])) for c in planned)),
                    args=args, client=get_redis())
    return [int(number) for number in answer]


def reserve_arrivals(tenant_id: str, conference_id: str, count: int) -> int:
    """Reserve ``count`` arrival numbers (the conference is built); returns the last."""
    return get_redis().incrby(Keys.of(tenant_id, conference_id).arrivals, count)


def next_waitlist_numbers(tenant_id: str, conference_id: str, count: int) -> int:
    """Reserve ``count`` waitlist numbers (the conference is built); returns the last."""
    return get_redis().incrby(Keys.of(tenant_id, conference_id).waitlist_numbers, count)


# --- reading --------------------------------------------------------------------------------

def read(tenant_id: str, ids: list[str]) -> dict[str, tuple[dict, int]]:
    """The hot documents among ``ids``, with their versions: id → (document, version)."""
    pipe = get_redis().pipeline(transaction=False)
    for registration_id in ids:
        pipe.hmget(doc_key(tenant_id, registration_id), "d", "v")
    found = {}
    for registration_id, (doc, version) in zip(ids, pipe.execute()):
        if doc is not None:
            found[registration_id] = (decode(doc), int(version))
    return found


def load(documents: list[dict]) -> None:
    """Write documents read from MongoDB into Redis, where Redis has none of them."""
    pipe = get_redis().pipeline(transaction=False)
    for son in documents:
        whole = encode(son) + f',"change_seq":{son.get("change_seq", 0)}}}'
        _LOAD(keys=[doc_key(son["tenant_id"], str(son["_id"]))],
              args=[whole, son.get("change_seq", 0), son["status"], DOC_TTL], client=pipe)
    pipe.execute()


def queue_head(tenant_id: str, conference_id: str, which: str, limit: int) -> list[str]:
    """The first ``limit`` ids of the policy's queue (``pending``) or of the waitlist."""
    key = getattr(Keys.of(tenant_id, conference_id), which)
    return [member.decode() for member in get_redis().zrange(key, 0, limit - 1)]


def leave_queue(tenant_id: str, conference_id: str, which: str, ids: list[str]) -> None:
    """Take ``ids`` off the policy's queue (``pending``) or the waitlist."""
    get_redis().zrem(getattr(Keys.of(tenant_id, conference_id), which), *ids)


def counts(tenant_id: str, conference_id: str) -> dict[str, int]:
    raw = get_redis().hgetall(Keys.of(tenant_id, conference_id).counts)
    return {name.decode(): int(value) for name, value in raw.items() if int(value)}


def waitlist_ranks(tenant_id: str, conference_id: str, ids: list[str]) -> dict[str, int]:
    """Where each of ``ids`` stands on the waitlist (0 first); those not on it are left out."""
    pipe = get_redis().pipeline(transaction=False)
    key = Keys.of(tenant_id, conference_id).waitlist
    for registration_id in ids:
        pipe.zrank(key, registration_id)
    return {rid: rank for rid, rank in zip(ids, pipe.execute()) if rank is not None}


def queued_conferences() -> list[tuple[str, str]]:
    """(tenant, conference) of every conference whose policy queue holds registrations;
    those whose queue is empty are taken off the set (a registration recorded meanwhile
    puts its conference back)."""
    client = get_redis()
    found = []
    for member in client.smembers(QUEUED):
        tenant_id, _, conference_id = member.decode().partition(":")
        if not _FORGET_IF_EMPTY(keys=[QUEUED, Keys.of(tenant_id, conference_id).pending],
                                args=[member], client=client):
            found.append((tenant_id, conference_id))
    return found


_FORGET_IF_EMPTY = Script(None, b"""
if redis.call('ZCARD', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0
""")


# --- approval jobs that join the conference's queued approval task -------------------------

def join(tenant_id: str, conference_id: str, registration_id: str) -> job_state.Join:
    """A registration's approval job joins the conference's approval task when one is
    queued: under load one task decides many registrations and ends their jobs
    (:func:`joined_jobs`); the job is still recorded, and polled, as its own."""
    keys = Keys.of(tenant_id, conference_id)
    return job_state.Join(flag=keys.pass_due, waiting=keys.joined_jobs, field=registration_id,
                          flag_ms=JOIN_FLAG_MS, waiting_ttl=2 * get_settings().queued_job_grace)


def start_pass(tenant_id: str, conference_id: str) -> bool:
    """Clear the conference's due flag as its approval pass starts (a registration
    recorded from now on queues a task of its own, and those recorded until now are
    this pass's); True if it was set."""
    return bool(get_redis().delete(Keys.of(tenant_id, conference_id).pass_due))


def joined_jobs(tenant_id: str, conference_id: str) -> dict[str, str]:
    """The approval jobs that joined a queued task: registration id → job id."""
    return job_state.waiting(Keys.of(tenant_id, conference_id).joined_jobs)


def forget_joined(tenant_id: str, conference_id: str, registration_ids: list[str]) -> None:
    job_state.stop_waiting(Keys.of(tenant_id, conference_id).joined_jobs, registration_ids)


def is_ready(tenant_id: str, conference_id: str) -> bool:
    return bool(get_redis().exists(Keys.of(tenant_id, conference_id).ready))


def settled() -> None:
    """Wait (up to SETTLE_WAIT) until every change so far is in MongoDB: what a reader
    of MongoDB does first, so that it sees the registrations' latest changes."""
    changes.settled(SETTLE_WAIT)


# --- building a conference's state from MongoDB ---------------------------------------------

def build(tenant_id: str, conference_id: str, stored_from, *, force: bool = False) -> bool:
    """Make the conference's counters and queues hold what MongoDB holds, once every
    change so far is flushed; False if another builder did it meanwhile. ``stored_from``
    gives the conference's stored registrations (the fields below) and its counters'
    floors: ``(documents, arrival floor, waitlist floor)``. ``force`` rebuilds a built
    conference (the operator's command after a Redis loss)."""
    keys = Keys.of(tenant_id, conference_id)
    busy = TransientError("The conference's registrations are being rebuilt; try again.")
    with locks.held(f"meeteasy:lock:{tenant_id}:conference:{conference_id}:build",
                    timeout=60, wait=65, busy=busy):
        client = get_redis()
        if not force and client.exists(keys.ready):
            return False
        if force:
            # A built conference may have changes on their way to MongoDB. One never built
            # (or whose Redis lost everything, stream included) has none: ``ready`` is
            # written before its first registration, so do not wait for the flusher.
            settled()
        documents, arrival_floor, waitlist_floor = stored_from()
        people, tally, pending, waitlist = {}, defaultdict(int), {}, {}
        for son in documents:
            registration_id = str(son["_id"])
            for key in person_keys(son.get("user_id"), son.get("email")):
                people[key] = registration_id
            tally[son["status"]] += 1
            if son["status"] == "pending" and not son.get("policy_checked"):
                pending[registration_id] = son["seq"]
            elif son["status"] == "waitlisted":
                waitlist[registration_id] = son.get("waitlist_seq") or 0
        arrivals = max([arrival_floor, int(client.get(keys.arrivals) or 0)]
                       + [son["seq"] for son in documents])
        numbers = max([waitlist_floor, int(client.get(keys.waitlist_numbers) or 0)]
                      + list(waitlist.values()))
        pipe = client.pipeline(transaction=True)
        pipe.delete(keys.people, keys.counts, keys.pending, keys.waitlist)
        for name, mapping in ((keys.people, people), (keys.counts, dict(tally))):
            if mapping:
                pipe.hset(name, mapping=mapping)
        for name, scores in ((keys.pending, pending), (keys.waitlist, waitlist)):
            if scores:
                pipe.zadd(name, scores)
        pipe.set(keys.arrivals, arrivals)
        pipe.set(keys.waitlist_numbers, numbers)
        if pending:
            pipe.sadd(QUEUED, f"{tenant_id}:{conference_id}")
        pipe.set(keys.ready, 1)
        pipe.execute()
        return True


# --- the flusher's writer -------------------------------------------------------------------

def flush(collection, records: list[tuple[int, dict]]) -> None:
    """Store a batch of registrations' changes in MongoDB: each one's latest change of the
    batch, written only over an older one (a replayed or late batch moves nothing back).

    A registration created within the batch is inserted (most are inserted once, already
    decided); the others get a guarded replace, and a deletion a guarded delete."""
    latest: dict[str, dict] = {}
    created: set[str] = set()
    for _, doc in records:
        key = str(doc["_id"])
        latest[key] = doc
        if len(doc.get("history", ())) == 1 and not doc.get("deleted"):
            created.add(key)
    inserts, replaced, deletes = [], [], []
    for key, doc in latest.items():
        if doc.get("deleted"):
            if key not in created:
                deletes.append(DeleteOne(_guard(doc)))
        elif key in created:
            inserts.append(doc)
        else:
            replaced.append(doc)
    replaced += insert_new(collection, inserts)  # stored already: the guarded replace
    writes = [ReplaceOne(_guard(doc), doc, upsert=True) for doc in replaced] + deletes
    if writes:
        try:
            collection.bulk_write(writes, ordered=False)
        except BulkWriteError as error:
            # The guard missed, so the upsert's insert met the stored document: a newer
            # change is stored (fine), unless another registration holds a unique key.
            raise_unless_duplicates(error)
            _log_unless_stored(collection, [replaced[e["index"]]
                                            for e in error.details["writeErrors"]])


def _guard(doc: dict) -> dict:
    return {"tenant_id": doc["tenant_id"], "_id": ObjectId(str(doc["_id"])),
            "change_seq": {"$lt": doc["change_seq"]}}


def _log_unless_stored(collection, docs: list[dict]) -> None:
    """Log each document that is not stored at its change or a newer one: a unique key
    refused it (Redis lost who was registered and was rebuilt wrongly). Logged with its
    id rather than retried forever."""
    stored = {doc["_id"]: doc.get("change_seq", 0) for doc in collection.find(
        {"_id": {"$in": [doc["_id"] for doc in docs]}}, {"change_seq": 1})}
    for doc in docs:
        if stored.get(doc["_id"], -1) < doc["change_seq"]:
            log.error("registration %s (change %s) not stored: a unique key refused it",
                      doc["_id"], doc["change_seq"])
