"""Per-message cost of the engine, side by side in one run:

- pure step: Engine.step on the shipped flows (one shared Machine per flow);
- with Redis: load the conversation's state from Redis, step, save it back;
- naive: the same step with a transitions Machine built per conversation for the
  same flow (the pattern the engine avoids).

    python benchmarks/engine.py
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py is named like the standard library's queue: keep this folder off the path.
sys.path[:] = [
    p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
]

import asyncio
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from redis.asyncio import Redis
from transitions import Machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.conversation.engine import Engine  # noqa: E402
from bot.conversation.model import Context, Conversation, Event  # noqa: E402
from bot.flows.load import load_flowset  # noqa: E402
from bot.i18n.catalogs import Catalogs  # noqa: E402
from bot.store.embedded import EmbeddedRedis  # noqa: E402

NOW = 1_767_225_600.0
# A walk through the main menu and the rights flow: each (state, answer) is one message.
WALK = [
    ("main", "menu", "2"),
    ("rights", "start", "3"),
    ("rights", "reflection", "1"),
    ("rights", "start", "7"),
    ("main", "menu", "1"),
    ("leaving", "start", "1"),
    ("leaving", "take", "3"),
]


def best_of(fn, repeat: int = 5, number: int = 2000) -> float:
    """Seconds per call: the best of `repeat` timings of `number` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main() -> None:
    flowset, issues = load_flowset(ROOT / "flows")
    assert flowset is not None, issues
    engine = Engine(flowset, Catalogs(ROOT / "locales"))
    ctx = Context("sms", NOW + 1)
    convs = [Conversation(f, s, "en", updated_at=NOW, version=flowset.version) for f, s, _ in WALK]
    events = [Event("text", answer) for _, _, answer in WALK]
    index = [0]

    def pure_step():
        i = index[0] = (index[0] + 1) % len(WALK)
        engine.step(convs[i], events[i], ctx)

    def naive_step():
        i = index[0] = (index[0] + 1) % len(WALK)
        flow = flowset.flows[convs[i].flow]

        class Model:
            pass

        model = Model()
        Machine(
            model=model, **{**engine.machine_spec(flow), "initial": convs[i].state}
        )  # a Machine per conversation
        engine._cursors[flow.name].state = convs[i].state
        engine.step(convs[i], events[i], ctx)

    whole = whole_set_spec(engine)

    def naive_whole_step():
        # A naive engine gives each conversation one Machine over all the flows it
        # can move through (the flow set), rebuilt whenever the conversation is loaded.
        i = index[0] = (index[0] + 1) % len(WALK)

        class Model:
            pass

        model = Model()
        Machine(model=model, **{**whole, "initial": f"{convs[i].flow}.{convs[i].state}"})
        engine.step(convs[i], events[i], ctx)

    pure = best_of(pure_step)
    naive = best_of(naive_step, number=300)
    naive_whole = best_of(naive_whole_step, repeat=3, number=50)

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    models = []
    for i in range(50):

        class Model:
            pass

        model = Model()
        Machine(model=model, **whole)
        models.append(model)
    after = tracemalloc.take_snapshot()
    per_machine_kb = sum(s.size_diff for s in after.compare_to(before, "filename")) / 50 / 1024
    tracemalloc.stop()

    with_redis = asyncio.run(redis_steps(engine, convs, events, ctx))
    print(f"{'pattern':44}{'per message':>14}")
    print(f"{'pure step (shared Machine per flow)':44}{pure * 1e6:>11.1f} us")
    print(f"{'load from Redis + step + save':44}{with_redis * 1e6:>11.1f} us")
    print(f"{'naive: a Machine of the flow set per conv.':44}{naive_whole * 1e6:>11.1f} us")
    print(f"{'naive: a Machine of the one flow per conv.':44}{naive * 1e6:>11.1f} us")
    print(
        f"memory of one Machine of the flow set: {per_machine_kb:.0f} KB (per conversation in the naive pattern)"
    )
    print(f"step_speedup_vs_naive={naive_whole / pure:.0f}")
    print(f"step_speedup_vs_naive_one_flow={naive / pure:.0f}")
    print(f"pure_step_us={pure * 1e6:.1f}")
    print(f"redis_step_us={with_redis * 1e6:.1f}")


def whole_set_spec(engine: Engine) -> dict:
    """One Machine spec over every flow: states named flow.state."""
    states, transitions = [], []
    for flow in engine.flowset.flows.values():
        spec = engine.machine_spec(flow)
        states += [f"{flow.name}.{s}" for s in spec["states"] if not s.startswith("@")]
        for t in spec["transitions"]:
            dest = t["dest"][1:] if t["dest"].startswith("@") else f"{flow.name}.{t['dest']}"
            transitions.append({**t, "source": f"{flow.name}.{t['source']}", "dest": dest})
    return {
        "states": states,
        "transitions": transitions,
        "auto_transitions": False,
        "send_event": True,
    }


async def redis_steps(engine: Engine, convs, events, ctx, rounds: int = 3000) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=False)
        server.start()
        redis = Redis.from_url(server.url)
        try:
            for i, conv in enumerate(convs):
                await redis.set(f"bench:{i}", json.dumps(conv.to_dict()))
            samples = []
            for _ in range(3):
                start = time.perf_counter()
                for n in range(rounds):
                    i = n % len(convs)
                    conv = Conversation.from_dict(json.loads(await redis.get(f"bench:{i}")))
                    result = engine.step(conv, events[i], ctx)
                    result.conversation.flow, result.conversation.state = (
                        conv.flow,
                        conv.state,
                    )  # keep the walk
                    await redis.set(f"bench:{i}", json.dumps(result.conversation.to_dict()))
                samples.append((time.perf_counter() - start) / rounds)
            return statistics.median(samples)
        finally:
            await redis.aclose()
            server.stop()


if __name__ == "__main__":
    main()
