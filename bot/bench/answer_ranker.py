"""`librarity bench answers --train`: teach the sentence ranker of the answers without an LLM.

The ranker (`services.search.extractive.SentenceRanker`) is a small network over FEATURES of each
candidate sentence. It learns, question by question, to put first the sentences that hold the gold answer
of the fairytaleqa anthologies of the tuning folds (never the held-out one): each question is searched and
its context packed exactly as `bench answers` does it, and a sentence is a positive when the gold answer
is in it (or runs from it into the next sentence). The loss is a softmax over each question's candidates;
WITHOUT_MEANING of the questions are shown with the features of meaning zeroed, as a reply without
sentence vectors sees them (a question not in English, a caller without an embedder).
The weights go to `services/search/answer_ranker.json`; the run prints how often the reply it would give
holds the answer, on each tuning fold with a ranker trained on the other (cross-fitted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.bench.retrieval import CachedEmbedder, Options, _shelf, answer_found, fairytale_books
from services.chat.answer import fit_passages
from services.chat.offline import MAX_CHARS
from services.chat.types import Citation
from services.search.extractive import (
    DENSE_FEATURES,
    FEATURES,
    RANKER_PATH,
    SentenceRanker,
    candidate_sentences,
    candidate_table,
    choose_sentences,
)

logger = logging.getLogger(__name__)

HIDDEN = 32
EPOCHS = 10
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
SEED = 7
WITHOUT_MEANING = 0.3  # share of questions trained as if no sentence vectors were given


@dataclass(slots=True)
class Asked:
    """One question's candidates as the ranker sees them."""

    fold: int
    question: str
    answers: list[str]
    features: np.ndarray
    usable: np.ndarray
    positive: np.ndarray
    lengths: np.ndarray
    texts: list[str]


async def collect(
    data: Path,
    tuning_folds: list[int],
    fold_of: dict[str, int],
    embedder: CachedEmbedder,
    k: int,
    budget: int,
) -> list[Asked]:
    """Every explicit question of the tuning folds' anthologies, searched and packed as the chat does."""
    asked: list[Asked] = []
    anthologies = fairytale_books(data / "fairytaleqa", None)
    for key, (book, questions) in anthologies.items():
        fold = fold_of[key]
        if fold not in tuning_folds:
            continue
        started = time.perf_counter()
        shelf = await _shelf(f"ranker-{key}", {key: book}, embedder, Options(data=data))
        explicit = [q for q in questions if q.explicit]
        await asyncio.to_thread(embedder.encode, [q.text for q in explicit])
        for question in explicit:
            hits = await shelf.index.search(1, question.text, book_ids=[shelf.ids[key]], k=k, budget=budget)
            context = fit_passages([Citation.from_hit(hit) for hit in hits], budget)
            if not context:
                continue
            texts = [context[p].text[s:e] for p, s, e in candidate_sentences(context)]
            if not texts:
                continue
            vectors = await embedder.embed_documents(texts)
            query = await embedder.embed_query(question.text)
            spans, features, usable = candidate_table(question.text, context, query, vectors)
            asked.append(
                Asked(
                    fold=fold,
                    question=question.text,
                    answers=question.answers,
                    features=features,
                    usable=usable,
                    positive=_positives(texts, [p for p, _, _ in spans], question.answers),
                    lengths=np.array([e - s for _, s, e in spans]),
                    texts=texts,
                )
            )
        await shelf.close()
        logger.info(
            "%s (fold %d): %d questions, %.1fs", key, fold, len(explicit), time.perf_counter() - started
        )
    return asked


def _positives(texts: list[str], passages: list[int], answers: list[str]) -> np.ndarray:
    """The sentences holding the answer, or the two in a row it runs across."""
    positive = np.array([answer_found(text, answers) for text in texts], dtype=bool)
    for index in range(len(texts) - 1):
        if passages[index] == passages[index + 1] and not (positive[index] or positive[index + 1]):
            if answer_found(f"{texts[index]} {texts[index + 1]}", answers):
                positive[index] = positive[index + 1] = True
    return positive


def _without_meaning(features: np.ndarray) -> np.ndarray:
    """The features as they are when no sentence vectors are given (the dense ones zero)."""
    features = features.copy()
    features[:, [FEATURES.index(name) for name in DENSE_FEATURES]] = 0.0
    return features


def train(asked: list[Asked], seed: int = SEED) -> dict[str, Any]:
    """The ranker's weights (a one-hidden-layer network), fitted on the questions with a positive."""
    import torch

    torch.manual_seed(seed)
    usable = [a for a in asked if (a.positive & a.usable).any()]
    stacked = np.concatenate([a.features for a in usable])
    mean, scale = stacked.mean(0), stacked.std(0) + 1e-6
    first = torch.nn.Linear(len(FEATURES), HIDDEN)
    second = torch.nn.Linear(HIDDEN, 1)
    model = torch.nn.Sequential(first, torch.nn.Tanh(), second)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    generator = np.random.default_rng(seed)
    batches = []
    for a in usable:
        features = _without_meaning(a.features) if generator.random() < WITHOUT_MEANING else a.features
        batches.append(
            (
                torch.from_numpy((features - mean) / scale).float(),
                torch.from_numpy(a.positive & a.usable),
                torch.from_numpy(a.usable),
            )
        )
    for epoch in range(EPOCHS):
        total = 0.0
        for start in range(0, len(batches), 32):
            chosen = [batches[i] for i in generator.permutation(len(batches))[start : start + 32]]
            loss = torch.zeros(())
            for features, positive, allowed in chosen:
                scores = model(features).squeeze(-1).masked_fill(~allowed, -1e9)
                loss = loss - (
                    torch.logsumexp(scores.masked_fill(~positive, -1e9), 0) - torch.logsumexp(scores, 0)
                )
            optimiser.zero_grad()
            (loss / len(chosen)).backward()
            optimiser.step()
            total += float(loss.detach())
        logger.debug("epoch %d: loss %.4f", epoch, total / len(batches))
    return {
        "features": list(FEATURES),
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "hidden_weight": first.weight.detach().numpy().round(6).tolist(),
        "hidden_bias": first.bias.detach().numpy().round(6).tolist(),
        "out_weight": second.weight.detach().numpy()[0].round(6).tolist(),
        "out_bias": float(second.bias.detach().numpy()[0]),
        "trained_on": sorted({a.fold for a in asked}),
        "questions": len(usable),
    }


def reply_holds_answer(weights: dict[str, Any], asked: Asked) -> bool:
    """Whether the reply the ranker would choose (up to MAX_CHARS) holds the gold answer."""
    scores = SentenceRanker(weights).score(asked.features)
    chosen = choose_sentences(scores, asked.usable, asked.lengths, MAX_CHARS)
    return answer_found(" ".join(asked.texts[i] for i in chosen), asked.answers)


def evaluate(weights: dict[str, Any], asked: list[Asked]) -> float:
    return sum(reply_holds_answer(weights, a) for a in asked) / max(len(asked), 1)


async def run(
    args: Any, data: Path, tuning_folds: list[int], fold_of: dict[str, int], k: int, budget: int
) -> int:
    embedder = CachedEmbedder(None if args.no_cache else args.out / ".cache" / "embeddings-minilm.npz")
    asked = await collect(data, tuning_folds, fold_of, embedder, k, budget)
    embedder.save()
    for fold in tuning_folds:
        others = [a for a in asked if a.fold != fold]
        if not others:
            continue
        held = [a for a in asked if a.fold == fold]
        weights = train(others)
        in_context = sum(answer_found(" ".join(a.texts), a.answers) for a in held) / max(len(held), 1)
        print(
            f"fold {fold}: {len(held)} questions, reply holds the answer {evaluate(weights, held):.3f} "
            f"(answer in context {in_context:.3f}), ranker trained on the other tuning folds"
        )
    weights = train(asked)
    RANKER_PATH.write_text(json.dumps(weights, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"ranker trained on folds {tuning_folds} ({weights['questions']} questions) -> {RANKER_PATH}")
    return 0
