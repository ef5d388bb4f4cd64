"""Adam (Kingma & Ba, 2015), the optimiser of the one loop, written out.

torch.optim's optimisers import torch's compiler stack (torch._dynamo) the first
time one is built, which costs a small fit more than its training does; this is the
same update as torch's single-tensor Adam (AdamW without weight decay), step for step.
"""

from __future__ import annotations

import torch


class Adam:
    """Adam over `params`; `lr` may be changed between steps (the loop halves it)."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps = lr, betas, eps
        self.steps = [0] * len(self.params)
        self.first = [torch.zeros_like(p) for p in self.params]    # running mean of gradients
        self.second = [torch.zeros_like(p) for p in self.params]   # of squared gradients

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, param in enumerate(self.params):
            if param.grad is None:   # not in this batch's graph: left as it is, as torch does
                continue
            self.steps[i] += 1
            self.first[i].lerp_(param.grad, 1 - beta1)
            self.second[i].mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
            correction1, correction2 = 1 - beta1 ** self.steps[i], 1 - beta2 ** self.steps[i]
            denominator = (self.second[i].sqrt() / correction2 ** 0.5).add_(self.eps)
            param.addcdiv_(self.first[i], denominator, value=-self.lr / correction1)
