"""Checkers for the exercises of Chapter 2 (softmax regression)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Case, check_function, check_value

_OVERFLOW = ("exp(1000) overflows to inf and inf/inf is nan: subtract each row's maximum "
             "(over the allowed classes) before exponentiating")
_LOG = ("log(softmax(o)) underflows: a probability of exp(-1000) rounds to 0 and its log to -inf; "
        "use log_softmax, which subtracts the row maximum and a log-sum-exp")


def _masked(o, mask):
    return torch.softmax(o.masked_fill(~mask, float("-inf")), dim=1)


def check_masked_softmax(masked_softmax) -> None:
    """Exercise 2.1: a row-wise softmax over the classes where ``mask`` is True only."""
    g = torch.Generator().manual_seed(2)
    o = torch.randn(6, 5, generator=g)
    mask = torch.rand(6, 5, generator=g) > 0.4
    mask[:, 0] = True                                     # every row keeps at least one class
    inputs = [
        ("nothing masked: plain softmax of [[1, 2, 3]]", torch.tensor([[1.0, 2.0, 3.0]]),
         torch.tensor([[True, True, True]])),
        ("mask the largest logit: [[1, 2, 3]] with mask [[T, T, F]]", torch.tensor([[1.0, 2.0, 3.0]]),
         torch.tensor([[True, True, False]])),
        ("a batch of 6 rows, 5 classes, random masks", o, mask),
        ("huge logits [1000, 0, -1000], all allowed", torch.tensor([[1000.0, 0.0, -1000.0]]),
         torch.ones(1, 3, dtype=torch.bool)),
        ("huge logit masked out: [1000, 0, -1000] with mask [F, T, T]",
         torch.tensor([[1000.0, 0.0, -1000.0]]), torch.tensor([[False, True, True]])),
        ("only one class allowed", torch.tensor([[5.0, -2.0, 0.5]]), torch.tensor([[False, False, True]])),
        ("allowed logits far below zero: [-100, -105, 0] with the last class masked",
         torch.tensor([[-100.0, -105.0, 0.0]]), torch.tensor([[True, True, False]])),
    ]
    hint = ("set the masked logits to -inf (o.masked_fill(~mask, float('-inf'))), then take a stable "
            "softmax: exp(-inf) = 0, so masked classes get exactly zero; a stand-in such as -20 "
            "fails as soon as the allowed logits are smaller still. " + _OVERFLOW)
    cases = [Case(desc, (o, m), _masked(o, m), hint=hint) for desc, o, m in inputs]
    many = torch.zeros(1, 1001, dtype=torch.bool)
    many[0, 0] = True
    cases.append(Case("1000 masked classes and one allowed, all logits 0: the masked probabilities "
                      "must be exactly 0", (torch.zeros(1, 1001), many), _masked(torch.zeros(1, 1001), many),
                      atol=0.0, hint=hint))
    check_function("2.1", masked_softmax, cases)


def _ce_inputs():
    g = torch.Generator().manual_seed(3)
    return [
        ("two examples: logits [[0, 0], [0, ln 3]], labels [0, 1]",
         torch.tensor([[0.0, 0.0], [0.0, math.log(3.0)]]), torch.tensor([0, 1])),
        ("a batch of 16 with 10 classes", torch.randn(16, 10, generator=g),
         torch.randint(0, 10, (16,), generator=g)),
        ("one example (a batch of 1)", torch.randn(1, 5, generator=g), torch.tensor([4])),
        ("a confident right answer: logits [[1000, 0]], label 0", torch.tensor([[1000.0, 0.0]]), torch.tensor([0])),
        ("a confident wrong answer: logits [[1000, 0]], label 1", torch.tensor([[1000.0, 0.0]]), torch.tensor([1])),
    ]


def check_smoothed_cross_entropy(smoothed_cross_entropy) -> None:
    """Exercise 2.2: mean cross-entropy against label-smoothed targets."""
    cases = []
    for eps in (0.0, 0.1):
        for desc, o, y in _ce_inputs():
            cases.append(Case(f"eps={eps}, {desc}", (o, y, eps),
                              F.cross_entropy(o, y, label_smoothing=eps), rtol=1e-4, atol=1e-4,
                              hint="the target is (1 - eps) * one_hot(y) + eps / q; the loss is "
                                   "-(target * log_softmax(o)).sum(1).mean(). " + _LOG))
    check_function("2.2", smoothed_cross_entropy, cases)


def _mse_grad(o, y):
    o = o.clone().requires_grad_()
    p = torch.softmax(o, dim=1)
    ((p - F.one_hot(y, o.shape[1]).to(p.dtype)) ** 2 / 2).sum(1).mean().backward()
    return o.grad


def check_mse_softmax_grad(mse_softmax_grad) -> None:
    """Exercise 2.3: the gradient of the squared error on softmax outputs, without autograd."""
    cases = [Case(desc, (o, y), _mse_grad(o, y), rtol=1e-4, atol=1e-6,
                  hint="with p = softmax(o) and e = p - one_hot(y), the chain rule through the "
                       "softmax Jacobian diag(p) - p p^T gives p * (e - (p * e).sum(1, keepdim=True)), "
                       "divided by the batch size")
             for desc, o, y in _ce_inputs()]
    check_function("2.3", mse_softmax_grad, cases)


def _top_k(o, y, k):
    return (o.topk(k, dim=1).indices == y[:, None]).any(dim=1).float().mean()


def check_top_k_accuracy(top_k_accuracy) -> None:
    """Exercise 2.4: the fraction of examples whose label is among the k largest logits."""
    g = torch.Generator().manual_seed(4)
    o, y = torch.randn(50, 10, generator=g), torch.randint(0, 10, (50,), generator=g)
    small = torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.0, 0.1], [0.2, 0.3, 0.5]])
    inputs = [("3 examples by hand, k=1 (plain accuracy)", small, torch.tensor([1, 2, 1]), 1),
              ("the same 3 examples, k=2", small, torch.tensor([1, 2, 1]), 2),
              ("50 examples, 10 classes, k=1", o, y, 1),
              ("50 examples, 10 classes, k=5", o, y, 5),
              ("k equal to the number of classes: always right", o, y, 10)]
    cases = [Case(desc, (o, y, k), _top_k(o, y, k).item(),
                  hint="o.topk(k, dim=1).indices holds each row's k best classes; an example counts "
                       "when its label is among them; return a number between 0 and 1")
             for desc, o, y, k in inputs]
    check_function("2.4", top_k_accuracy, cases)


def check_initial_loss(answer) -> None:
    """Exercise 2.5: the cross-entropy of a 10-class model whose logits are all equal."""
    check_value("2.5", answer, math.log(10),
                hint="with equal logits every class gets probability 1/10; the loss is -log of "
                     "the true class's probability")
