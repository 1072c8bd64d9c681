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
anyway (ReorderInput/ReorderOutput with channels_last): 122 transposes are left, 99 ms. The
same operations on the same numbers: the image features are equal to the bit, and the tests
compare the exported model's tokens with transformers' `generate`.
"""
from __future__ import annotations

from typing import Any

import torch


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
    x = _conv(block.conv2, tokens.view(batch, height, width, dim)) + tokens.view(batch, height, width, dim)
    tokens = x.reshape(batch, height * width, dim)
    tokens = tokens + block.drop_path2(block.ffn(block.norm2(tokens)))
    return tokens.view(batch, height, width, dim)


def vision_tower(tower: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    """Florence2VisionBackbone.forward's last_hidden_state, (batch, channels, height, width)."""
    x = pixel_values.to(dtype=tower.convs[0].conv.weight.dtype)
    channels_last = False
    for embed, layers in zip(tower.convs, tower.blocks):
        x = _patch_embed(embed, x, channels_last)
        channels_last = True
        for layer in layers:
            spatial, channel = layer.spatial_block, layer.channel_block
            x = _block(spatial, x, lambda t, shape, s=spatial: s.window_attn(t.view(shape)))
            x = _block(channel, x, lambda t, shape, c=channel: c.channel_attn(t))
    return x.permute(0, 3, 1, 2)
