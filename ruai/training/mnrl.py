"""MultipleNegativesRankingLoss (in-batch negatives, optional hard negatives) and one step of it.

Queries, positives and negatives go through the model in one forward pass, so a DDP-wrapped
model sees one forward per backward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F


def mnrl_loss(
    queries: torch.Tensor,
    candidates: torch.Tensor,
    gold_ids: Sequence[str],
    candidate_ids: Sequence[str],
    scale: float,
) -> torch.Tensor:
    """Cross-entropy of each query against all candidates; candidate i is query i's positive.

    Another candidate with the query's own passage id (a second question on the same paragraph
    in the batch) is masked out rather than counted as a negative.
    """
    scores = scale * F.normalize(queries, dim=-1) @ F.normalize(candidates, dim=-1).T
    n = queries.shape[0]
    codes = {pid: i for i, pid in enumerate(dict.fromkeys([*gold_ids, *candidate_ids]))}
    gold = torch.tensor([codes[g] for g in gold_ids], device=scores.device)
    cand = torch.tensor([codes[c] for c in candidate_ids], device=scores.device)
    same_passage = gold[:, None] == cand[None, :]
    same_passage[torch.arange(n), torch.arange(n)] = False
    scores = scores.masked_fill(same_passage, float("-inf"))
    return F.cross_entropy(scores, torch.arange(n, device=scores.device))


def mnrl_forward(
    model: torch.nn.Module,
    preprocess: Callable[[list[str]], dict],
    batch: Mapping[str, Sequence[str]],
    scale: float,
    device: torch.device | str,
    prompts: tuple[str, str] = ("", ""),
) -> torch.Tensor:
    """The loss of one batch: ``question``, ``passage``, ``passage_id`` and, optionally,
    ``negative`` with ``negative_id`` (hard negatives appended to the candidates); ``prompts``
    (query, passage) go before the texts, as the model is served."""
    query, passage = prompts
    questions = [query + str(q) for q in batch["question"]]
    candidates = [passage + str(p) for p in batch["passage"]]
    candidate_ids = [str(p) for p in batch["passage_id"]]
    if "negative" in batch:
        candidates += [passage + str(p) for p in batch["negative"]]
        candidate_ids += [str(p) for p in batch["negative_id"]]
    features = {
        k: v.to(device) if isinstance(v, torch.Tensor) else v
        for k, v in preprocess(questions + candidates).items()
    }
    embeddings = model(features)["sentence_embedding"]
    n = len(questions)
    return mnrl_loss(embeddings[:n], embeddings[n:], candidate_ids[:n], candidate_ids, scale)
