"""Independent NumPy implementations of the papers' equations, used as test oracles.

Written from the papers' formulas with explicit loops where that is clearer than speed, and sharing
no code with fer_keras.
"""

import math

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def conv2d_same(x, kernel, bias=None, stride=1):
    """TensorFlow-style 'same' convolution. x (B, H, W, Cin), kernel (k, k, Cin, Cout)."""
    b, h, w, _ = x.shape
    k = kernel.shape[0]
    out_h, out_w = -(-h // stride), -(-w // stride)
    pad_h = max((out_h - 1) * stride + k - h, 0)
    pad_w = max((out_w - 1) * stride + k - w, 0)
    xp = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = np.zeros((b, out_h, out_w, kernel.shape[-1]))
    for di in range(k):
        for dj in range(k):
            patch = xp[:, di : di + stride * out_h : stride, dj : dj + stride * out_w : stride, :]
            out += patch @ kernel[di, dj]
    return out if bias is None else out + bias


def batch_norm_inference(x, gamma, beta, mean, var, eps=1e-3):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def prelu(x, alpha):
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


def hard_swish(x):
    return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0


# -- CBAM / MCBAM (AMDCNN eq. 1-9) ------------------------------------------------------------
def channel_attention(f, w0, b0, w1, b1):
    mlp = lambda v: np.maximum(v @ w0 + b0, 0) @ w1 + b1  # noqa: E731
    m = sigmoid(mlp(f.mean(axis=(1, 2))) + mlp(f.max(axis=(1, 2))))
    return f * m[:, None, None, :]


def spatial_attention(f, kernel, bias):
    pooled = np.concatenate([f.mean(-1, keepdims=True), f.max(-1, keepdims=True)], -1)
    return f * sigmoid(conv2d_same(pooled, kernel, bias))


def multi_scale_spatial_attention(f, branches, fuse=None):
    """branches: [(kernel, bias)] for 5x5, 3x3, 1x1; fuse: (kernel, bias) of the 1x1 fusion or None (sum)."""
    pooled = np.concatenate([f.mean(-1, keepdims=True), f.max(-1, keepdims=True)], -1)
    maps = np.concatenate([conv2d_same(pooled, k, b) for k, b in branches], -1)
    fused = conv2d_same(maps, *fuse) if fuse is not None else maps.sum(-1, keepdims=True)
    return f * sigmoid(fused)


# -- Coordinate attention (MrCAR eq. 1-7) -----------------------------------------------------
def coordinate_attention(x, w1, b1, bn, wh, bh, ww, bw):
    _, h, w, _ = x.shape
    z_h = x.mean(axis=2)  # (B, H, C)
    z_w = x.mean(axis=1)  # (B, W, C)
    f = hard_swish(batch_norm_inference(np.concatenate([z_h, z_w], 1) @ w1 + b1, *bn))
    g_h = sigmoid(f[:, :h] @ wh + bh)
    g_w = sigmoid(f[:, h:] @ ww + bw)
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            out[:, i, j, :] = x[:, i, j, :] * g_h[:, i, :] * g_w[:, j, :]
    return out


# -- MIFAD-Net self-attention (eq. 2-9) --------------------------------------------------------
def channel_self_attention(f, w, b, prelu_alpha, bn, alpha):
    bsz, h, wd, c = f.shape
    fp = batch_norm_inference(prelu((f.mean((1, 2)) + f.max((1, 2))) @ w + b, prelu_alpha), *bn)
    out = f.copy()
    for n in range(bsz):
        a = softmax(np.outer(fp[n], fp[n]), axis=1)  # row i: influence of every channel j on channel i
        fin = f[n].reshape(h * wd, c).T  # (C, HW)
        out[n] += alpha * (a @ fin).T.reshape(h, wd, c)
    return out


def spatial_self_attention(f, kernel, bias, prelu_alpha, bn, beta):
    bsz, h, wd, c = f.shape
    pooled = np.concatenate([f.mean(-1, keepdims=True), f.max(-1, keepdims=True)], -1)
    fp = batch_norm_inference(prelu(conv2d_same(pooled, kernel, bias), prelu_alpha), *bn)
    out = f.copy()
    for n in range(bsz):
        v = fp[n].reshape(h * wd)
        a = softmax(np.outer(v, v), axis=1)  # (HW, HW)
        out[n] += beta * (a @ f[n].reshape(h * wd, c)).reshape(h, wd, c)
    return out


# -- LBAN-IL local binary layers (2.1) ---------------------------------------------------------
def local_binary_conv(x, binary_kernel, w1x1, b1x1, stride=1):
    return np.maximum(conv2d_same(x, binary_kernel, stride=stride), 0) @ w1x1[0, 0] + b1x1


def cosine_dense(x, kernel):
    xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    wn = kernel / np.linalg.norm(kernel, axis=0, keepdims=True)
    return xn @ wn


def adaptive_weighted_fusion(inputs, logits):
    alpha = softmax(np.asarray(logits))
    return sum(a * p for a, p in zip(alpha, inputs))


# -- margin losses ---------------------------------------------------------------------------
def arcface_loss(labels, cosines, s, m):
    losses = []
    for y, row in zip(labels, cosines.astype(np.float64)):
        theta = math.acos(float(np.clip(row[y], -1, 1)))
        target = math.cos(theta + m) if theta + m <= math.pi else row[y] - m * math.sin(m)
        logits = s * row.copy()
        logits[y] = s * target
        losses.append(-np.log(softmax(logits)[y]))
    return float(np.mean(losses))


def am_softmax_loss(labels, cosines, s, m):
    losses = []
    for y, row in zip(labels, cosines.astype(np.float64)):
        logits = s * row.copy()
        logits[y] = s * (row[y] - m)
        losses.append(-np.log(softmax(logits)[y]))
    return float(np.mean(losses))


# -- center / island / islets losses (LBAN-IL eq. 1-4) -----------------------------------------
def center_loss_value(x, y, c, feature_reduction="half_sum"):
    if feature_reduction == "mean":  # PyTorch's F.mse_loss(x, c[y])
        return np.mean([np.mean((x[i] - c[y[i]]) ** 2) for i in range(len(y))])
    return 0.5 * np.mean([np.sum((x[i] - c[y[i]]) ** 2) for i in range(len(y))])


def island_loss_value(x, y, c, lambda1, feature_reduction="half_sum"):
    n = len(c)
    total = 0.0
    for j in range(n):
        for k in range(n):
            if j != k:
                total += c[j] @ c[k] / (np.linalg.norm(c[j]) * np.linalg.norm(c[k])) + 1.0
    return center_loss_value(x, y, c, feature_reduction) + lambda1 * total


def islets_penalty(c):
    n = len(c)
    return math.exp(-0.5 * sum(np.linalg.norm(c[j] - c[k]) for j in range(n) for k in range(n) if j != k))


def islets_loss_value(x, y, c, lambda1, lambda2, feature_reduction="half_sum"):
    return island_loss_value(x, y, c, lambda1, feature_reduction) + lambda2 * islets_penalty(c)


def center_delta(x, y, c, lambda1=None, lambda2=None):
    """LBAN-IL eq. 4 term by term (lambda1=None: center loss only; lambda2=None: no islets term)."""
    n = len(c)
    delta = np.zeros_like(c)
    lp = islets_penalty(c)
    for j in range(n):
        members = [i for i in range(len(y)) if y[i] == j]
        delta[j] = sum((c[j] - x[i] for i in members), np.zeros_like(c[j])) / (1 + len(members))
        if lambda1 is not None:
            acc = np.zeros_like(c[j])
            nj = np.linalg.norm(c[j])
            for k in range(n):
                if k != j:
                    nk = np.linalg.norm(c[k])
                    acc += c[k] / (nj * nk) - (c[j] @ c[k]) / (nj**3 * nk) * c[j]
            delta[j] += lambda1 / (n - 1) * acc
        if lambda2 is not None:
            acc = np.zeros_like(c[j])
            for k in range(n):
                if k != j:
                    acc += (c[j] - c[k]) / np.linalg.norm(c[j] - c[k]) * lp
            delta[j] -= lambda2 / (2 * n) * acc
    return delta
