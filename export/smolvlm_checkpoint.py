"""SmolVLM checkpoints built here (no hub): the tokenizer with SmolVLM's special tokens, the
published chat template, and transformers' processor assembled without torchvision.

Used by `lumen bench --ask` (full-size SmolVLM-256M, random weights) and by the tests' tiny
model, so both are saved exactly as a user's transformers 5 saves a checkpoint.
"""
from __future__ import annotations

from typing import Any

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


def smolvlm_tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE trained on a few sentences, with SmolVLM's special tokens, as
    transformers' PreTrainedTokenizerFast (saved with its extra_special_tokens)."""
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
    It also needs the `num2words` package (used only for videos; in the export extra).
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


def load_processor(folder: Any) -> Any:
    """The transformers processor of a saved checkpoint, in either saved form."""
    import json
    from pathlib import Path

    from transformers import AutoTokenizer, SmolVLMImageProcessorPil

    folder = Path(folder)
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
