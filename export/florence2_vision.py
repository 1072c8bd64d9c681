"""Florence-2's DaViT vision tower, the same modules and arithmetic with tokens kept channels-last.

transformers holds the picture as (batch, channels, height, width) between blocks, so every
block turns it into tokens (batch, height x width, channels) and back four times: around each
of its two depthwise convolutions and around each attention and MLP. Exported, those are 8
transposes of the stage's whole activation per block, which ONNX Runtime copies element by
element: 221 transposes, 21% of the int8 vision encoder's time (246 of 1,172 ms, ONNX Runtime's
profile, 768 x 768, 2 threads, a 2-core AMD EPYC with AVX-512 VNNI).

Here the picture stays (batch, height, width, channels) from the first patch embedding to the
projector. Each convolution is written `conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)`, and
ONNX Runtime folds both permutes into the NCHWc reorders it adds around every convolution
anyway (ReorderInput/ReorderOutput with channels_last): 122 transposes are left, 99 ms. Window
attention computes its scores a group of windows at a time (SCORES_PER_GROUP): the largest set
of live activations in ONNX Runtime's order falls from 198 to 162 MB, and `lumen describe`'s
peak from 696-699 to 688 MiB (Florence-2-base int8, the two exports run alternately), at the
same speed; and each block's MLP runs a group of tokens at a time (HIDDEN_PER_GROUP). The same operations on the same numbers: with one group of each the image features equal
transformers' to the bit; with several, torch rounds its batched products a little differently
(ONNX Runtime's int8 export gave equal features), tests/test_florence2_vision.py.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

# The first stage at 768 x 768 has 256 windows x 4 heads x 144 x 144 attention scores, 81 MB,
# held twice (before and after the softmax): the vision encoder's largest set of live tensors.
# Windows do not see each other, so their scores are computed a group of windows at a time,
# at most this many bytes of scores a group (per picture). The projections stay whole: int8's
# dynamic quantization takes one scale over its whole input, and a split would change it.
SCORES_PER_GROUP = 16 * 2**20
# Once the scores are grouped, the first stage's MLP is the largest set: 36,864 tokens widened
# to 512 channels, 75 MB before the GELU and 75 MB after. Neither the MLP nor the LayerNorm
# before it mixes tokens, so the block's second half (norm, MLP, residual) runs a group of
# tokens at a time, at most this many bytes of widened activations a group (per picture).
# int8's dynamic quantization then takes a scale per group. Florence-2-base int8, one process
# describing six pictures: peak 701-707 -> 559-573 MB, as fast. (Running window attention's
# projections a group of windows at a time as well measured 597 MB: not done.)
HIDDEN_PER_GROUP = 16 * 2**20


def _conv(conv: Any, x: torch.Tensor) -> torch.Tensor:
    """A convolution of a channels-last picture, answered channels-last."""
    return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _patch_embed(embed: Any, x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Florence2VisionConvEmbed.forward, channels-last out (and in, unless it is the pixels)."""
    if embed.norm and embed.pre_norm:
        x = embed.norm(x if channels_last else x.permute(0, 2, 3, 1))
        channels_last = True
    x = _conv(embed.conv, x) if channels_last else embed.conv(x).permute(0, 2, 3, 1)
    if embed.norm and not embed.pre_norm:
        x = embed.norm(x)
    return x


def _block(block: Any, x: torch.Tensor, mix: Any) -> torch.Tensor:
    """Florence2VisionSpatialBlock/ChannelBlock.forward on (batch, height, width, channels):
    a depthwise convolution and `mix` (attention), then another and the MLP, each residual."""
    batch, height, width, dim = x.shape
    x = _conv(block.conv1, x) + x
    tokens = x.reshape(batch, height * width, dim)
    tokens = tokens + block.drop_path1(mix(block.norm1(tokens), (batch, height, width, dim)))
    x = tokens.view(batch, height, width, dim)
    x = _conv(block.conv2, x) + x
    tokens = x.reshape(batch, height * width, dim)
    groups = math.ceil(height * width * block.ffn.fc1.out_features * 4 / HIDDEN_PER_GROUP)  # per picture
    step = math.ceil(height * width / groups)
    tokens = torch.cat([t + block.drop_path2(block.ffn(block.norm2(t))) for t in tokens.split(step, dim=1)], dim=1) \
        if groups > 1 else tokens + block.drop_path2(block.ffn(block.norm2(tokens)))
    return tokens.view(batch, height, width, dim)


def _window_attention(attn: Any, x: torch.Tensor) -> torch.Tensor:
    """Florence2VisionWindowAttention.forward (eager attention) on (batch, height, width,
    channels), the scores computed a group of windows at a time; (batch, height x width, channels)."""
    batch, height, width, dim = x.shape
    size, heads = attn.window_size, attn.num_heads
    x = nn.functional.pad(x, (0, 0, 0, (size - width % size) % size, 0, (size - height % size) % size))
    rows, cols, tokens = x.shape[1] // size, x.shape[2] // size, size * size
    windows = x.view(batch, rows, size, cols, size, dim).permute(0, 1, 3, 2, 4, 5).reshape(-1, tokens, dim)
    head_dim = dim // heads
    # As transformers lays them out, (windows of every picture, heads, tokens, head_dim), so
    # that with one group torch's products see the same tensors and round alike.
    query, key, value = attn.qkv(windows).reshape(-1, tokens, 3, heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    step = math.ceil(rows * cols / math.ceil(rows * cols / max(1, SCORES_PER_GROUP // (heads * tokens * tokens * 4))))
    outputs = []
    for start in range(0, rows * cols, step):
        q, k, v = (t.unflatten(0, (batch, rows * cols))[:, start:start + step] if step < rows * cols else t
                   for t in (query, key, value))
        weights = nn.functional.softmax(torch.matmul(q, k.transpose(-1, -2)) * attn.scale, dim=-1)
        outputs.append(torch.matmul(weights, v))
    out = torch.cat(outputs, dim=1).flatten(0, 1) if len(outputs) > 1 else outputs[0]
    out = attn.proj(out.transpose(1, 2).reshape(-1, tokens, dim))
    out = out.view(batch, rows, cols, size, size, dim).permute(0, 1, 3, 2, 4, 5).reshape(batch, rows * size, cols * size, dim)
    return out[:, :height, :width, :].reshape(batch, height * width, dim)


def vision_tower(tower: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    """Florence2VisionBackbone.forward's last_hidden_state, (batch, channels, height, width)."""
    x = pixel_values.to(dtype=tower.convs[0].conv.weight.dtype)
    channels_last = False
    for embed, layers in zip(tower.convs, tower.blocks):
        x = _patch_embed(embed, x, channels_last)
        channels_last = True
        for layer in layers:
            spatial, channel = layer.spatial_block, layer.channel_block
            x = _block(spatial, x, lambda t, shape, s=spatial: _window_attention(s.window_attn, t.view(shape)))
            x = _block(channel, x, lambda t, shape, c=channel: c.channel_attn(t))
    return x.permute(0, 3, 1, 2)
