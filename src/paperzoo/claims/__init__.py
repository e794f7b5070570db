"""Claims: a paper's statement turned into a runnable experiment with a verdict."""

from .core import (
                   Claim,
                   Comparison,
                   Outcome,
                   ReproduceResult,
                   RunContext,
                   Target,
                   Verdict,
                   collect_results,
                   reproduce,
                   summarize,
)

__all__ = ["Claim", "Comparison", "Outcome", "ReproduceResult", "RunContext", "Target", "Verdict",
           "collect_results", "reproduce", "summarize"]
