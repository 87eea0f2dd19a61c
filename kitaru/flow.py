"""`kitaru.flow`: the `@flow` decorator and its handle (the module path Kitaru 0.4 code imports)."""

from kitaru.sdk._flow import Flow, flow
from kitaru.sdk._handle import FlowHandle

__all__ = ["Flow", "FlowHandle", "flow"]
