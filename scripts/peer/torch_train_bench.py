#!/usr/bin/env python3
"""PyTorch side of scripts/bench-train-peer.sh: images/s of one training step (forward, cross-entropy, backward,
SGD with Nesterov momentum and weight decay) of the same architectures as `gstick bench train`, written out here
layer for layer. Prints one JSON object per line: {"model", "input", "batch", "parameters", "train_images_per_second"}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


def lenet(c, size, classes=10):
    s = size // 2                      # conv1 keeps the size (5x5, pad 2), pool halves it
    pad2 = 2 if s < 10 else 0
    s = (s + 2 * pad2 - 4) // 2
    return nn.Sequential(nn.Conv2d(c, 6, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5, 1, pad2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * s * s, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


class Basic(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
        self.relu = nn.ReLU()
        self.shortcut = (nn.Sequential(nn.Conv2d(i, o, 1, stride, 0, bias=False), nn.BatchNorm2d(o))
                         if stride != 1 or i != o else nn.Identity())

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet20(c, size, classes=10, width=16):
    layers = [nn.Conv2d(c, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    ch = width
    for stage in range(3):
        out = width << stage
        for b in range(3):
            layers.append(Basic(ch, out, 2 if b == 0 and stage > 0 else 1))
            ch = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, i, o, stride, t):
        super().__init__()
        h = i * t
        mods = []
        if t != 1:
            mods += [nn.Conv2d(i, h, 1, 1, 0, bias=False), nn.BatchNorm2d(h), nn.ReLU6()]
        mods += [nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                 nn.Conv2d(h, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o)]
        self.body = nn.Sequential(*mods)
        self.residual = stride == 1 and i == o

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


def mobilenetv2(c, size, classes=10):
    layers = [nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    ch = 16
    for t, o, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 1)]:
        for k in range(n):
            layers.append(InvertedResidual(ch, o, s if k == 0 else 1, t))
            ch = o
    layers += [nn.Conv2d(ch, 256, 1, 1, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, classes)]
    return nn.Sequential(*layers)


MODELS = {"lenet": lenet, "resnet20": resnet20, "mobilenetv2": mobilenetv2}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="lenet,resnet20,mobilenetv2")
    p.add_argument("--inputs", default="1x28x28,3x32x32")
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--warmup", type=float, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for name in a.models.split(","):
        for shape in a.inputs.split(","):
            c, h, w = (int(v) for v in shape.split("x"))
            b = a.batch or (64 if name == "lenet" else 128)
            net = MODELS[name](c, h)
            net.train()
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True)
            x = torch.randn(b, c, h, w)
            y = torch.randint(0, 10, (b,))
            loss = nn.CrossEntropyLoss()

            def step():
                opt.zero_grad()
                loss(net(x), y).backward()
                opt.step()

            t0 = time.perf_counter()
            while time.perf_counter() - t0 < a.warmup:
                step()
            steps, t0 = 0, time.perf_counter()
            while steps < 2 or time.perf_counter() - t0 < a.seconds:
                step()
                steps += 1
            ips = b * steps / (time.perf_counter() - t0)
            print(json.dumps({"model": name, "input": shape, "batch": b, "parameters": sum(q.numel() for q in net.parameters()),
                              "train_images_per_second": ips}), flush=True)


if __name__ == "__main__":
    main()
