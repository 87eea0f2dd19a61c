"""The flow module every remote-execution end-to-end test runs (Kubernetes, Vertex AI, SageMaker)."""

REMOTE_FLOWS = '''
import os, time
import kitaru
from kitaru import checkpoint, flow

def _mark(name):
    with open(os.environ["MARKS"], "a") as f:
        f.write(name + "\\n")

def _count(name):
    with open(os.environ["MARKS"]) as f:
        return f.read().split().count(name)

@checkpoint
def fetch(topic: str) -> dict:
    _mark("fetch")
    return {"topic": topic, "pad": "x" * 2000}

@checkpoint
def slow(doc: dict) -> str:
    _mark("slow")
    time.sleep(float(os.environ.get("SLOW", "0")))
    return doc["topic"].upper()

@flow
def research(topic: str) -> str:
    doc = fetch(topic)
    return slow(doc) + "!"

@checkpoint(runtime="isolated")
def part(i: int) -> list:
    start = time.time()  # before the mark: a part that sees all three marks ends after every part started
    _mark("part")
    together, deadline = int(os.environ.get("PART_BARRIER", "0")), start + 60
    while _count("part") < together and time.time() < deadline:  # run on until that many parts have started
        time.sleep(0.05)
    return [i, os.getpid(), start, time.time()]

@flow
def fanned(n: int) -> list:
    return part.map(range(n)).result()

@flow
def approved(topic: str) -> str:
    doc = fetch(topic)
    ok = kitaru.wait(name="ok", schema=bool, question="ship it?")
    return slow(doc) if ok else "no"
'''
