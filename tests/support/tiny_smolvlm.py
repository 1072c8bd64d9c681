"""A tiny random SmolVLM checkpoint, saved the way a user's transformers 5 saves one.

The real architecture (SigLIP vision + pixel shuffle + Llama decoder) at toy sizes, with a
byte-level BPE tokenizer carrying SmolVLM's special tokens, an image processor that splits a
picture into 2 x 2 tiles of 64 px plus the global image, and the published chat template.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IMAGE_SIZE = 64  # one tile (the vision encoder's input), 8 x 8 patches of 8 px
LONGEST_EDGE = 128  # pictures are resized to this longest edge, then cut into 64-px tiles
SCALE_FACTOR = 2  # pixel shuffle: 64 patches -> 16 image tokens per tile
IMAGE_SEQ_LEN = (IMAGE_SIZE // 8) ** 2 // SCALE_FACTOR**2
# Wide random weights: at transformers' default (0.02) every question gets the same answer,
# so a parity test could not fail.
INIT_STD = 0.25

# HuggingFaceTB/SmolVLM-256M-Instruct's chat template (chat_template.json), verbatim.
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
CORPUS = [
    "User: What colour is the car? Assistant: The car is red.",
    "User: Is there anyone in the photo? Assistant: Yes, two people walk on a beach.",
    "User: What does the sign say? Assistant: The sign says STOP.",
    "Describe this image in one sentence. A dog sits on a sofa next to a window.",
]
SPECIAL = ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>",
           *[f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]]


def no_video_processor() -> Any:
    """Stands in for SmolVLMVideoProcessor, which transformers loads only when torchvision
    imports (there is no CPU torchvision build for our torch pin). Pictures never touch it."""
    from transformers.utils import PushToHubMixin

    class NoVideoProcessor(PushToHubMixin):
        _auto_class = None
        num_frames = None
        fps = None

        def to_dict(self) -> dict:
            return {}

    return NoVideoProcessor()


def smolvlm_processor(tokenizer: Any, image_processor: Any, chat_template: str, image_seq_len: int) -> Any:
    """transformers' own SmolVLMProcessor, built from its parts.

    `AutoProcessor` cannot build one here: it needs torchvision for the video processor, and its
    argument check refuses anything else in that slot. The check is skipped for that one slot
    only; tokenizing, image splitting and the chat template are transformers' code unchanged.
    It also needs the `num2words` package (used only for videos).
    """
    from transformers import SmolVLMProcessor

    class PictureOnlySmolVLMProcessor(SmolVLMProcessor):
        def check_argument_for_proper_class(self, attribute_name: str, arg: Any) -> Any:
            if attribute_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(attribute_name, arg)

    processor = PictureOnlySmolVLMProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=no_video_processor(),
        image_seq_len=image_seq_len, chat_template=chat_template,
    )
    processor.__class__.__name__ = "SmolVLMProcessor"  # what processor_config.json names
    return processor


def load_processor(folder: Path) -> Any:
    """The transformers processor of a saved tiny checkpoint (either saved form)."""
    from transformers import AutoTokenizer, SmolVLMImageProcessorPil

    tokenizer = AutoTokenizer.from_pretrained(folder)
    proc_cfg = json.loads((folder / "processor_config.json").read_text())
    if (folder / "preprocessor_config.json").is_file():
        image_processor = SmolVLMImageProcessorPil.from_pretrained(folder)
    else:
        settings = {k: v for k, v in proc_cfg["image_processor"].items() if k != "image_processor_type"}
        image_processor = SmolVLMImageProcessorPil(**settings)
    template = (folder / "chat_template.jinja").read_text() if (folder / "chat_template.jinja").is_file() \
        else json.loads((folder / "chat_template.json").read_text())["chat_template"]
    return smolvlm_processor(tokenizer, image_processor, template, int(proc_cfg["image_seq_len"]))


def _tokenizer(vocab_size: int) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.add_special_tokens([AddedToken(t, normalized=False) for t in SPECIAL])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
        pad_token="<|im_end|>", unk_token="<|endoftext|>",
        extra_special_tokens={
            "image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
            "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>",
        },
    )


def build_tiny_smolvlm(out: Path, seed: int = 0) -> Path:
    """Model, processor (tokenizer, image processor, chat template) and generation config,
    each saved with transformers' save_pretrained."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration
    from transformers import SmolVLMImageProcessorPil
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig

    torch.manual_seed(seed)
    tokenizer = _tokenizer(320)
    image_processor = SmolVLMImageProcessorPil(
        size={"longest_edge": LONGEST_EDGE}, max_image_size={"longest_edge": IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_image_splitting=True,
    )
    processor = smolvlm_processor(tokenizer, image_processor, CHAT_TEMPLATE, IMAGE_SEQ_LEN)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        rms_norm_eps=1e-5, tie_word_embeddings=False, initializer_range=INIT_STD,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = SmolVLMVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=IMAGE_SIZE, patch_size=8, initializer_range=INIT_STD,
    )
    config = SmolVLMConfig(
        text_config=text.to_dict(), vision_config=vision.to_dict(), scale_factor=SCALE_FACTOR,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), initializer_range=INIT_STD,
        tie_word_embeddings=False,
    )
    model = SmolVLMForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
