"""Florence-2 prompts and answers against transformers' Florence2Processor; BLIP prompt
handling against BlipForConditionalGeneration; the spoken object summary."""
from __future__ import annotations

import random

import pytest

from models.results import DetectedObject
from models.tasks import (
    FLORENCE_PROMPTS, blip_caption, count_phrase, dequantize_box, florence_answer,
    florence_objects, florence_post_process, florence_task, object_summary, plural,
)
from models.tokenizer import TextTokenizer
from tests.test_tokenizer import bart_folder, bert_folder, florence_folder  # noqa: F401 (fixtures)
from tests.support.tiny_wordpiece import build_bert_tokenizer

IMAGE_SIZES = [(640, 480), (1, 1), (4032, 3024), (333, 777), (7, 5)]
PARSE_TYPES = ("ocr", "phrase_grounding", "pure_text", "description_with_bboxes",
               "description_with_polygons", "polygons", "bboxes", "description_with_bboxes_or_polygons")
TASKS = [
    ("caption", "brief", "<CAPTION>", "What does the image describe?"),
    ("caption", "detailed", "<DETAILED_CAPTION>", "Describe in detail what is shown in the image."),
    ("caption", "more", "<MORE_DETAILED_CAPTION>", "Describe with a paragraph what is shown in the image."),
    ("ocr", "brief", "<OCR>", "What is the text in the image?"),
    ("ocr", "more", "<OCR>", "What is the text in the image?"),
    ("objects", "brief", "<OD>", "Locate the objects with category name in the image."),
    ("objects", "detailed", "<OD>", "Locate the objects with category name in the image."),
]
TEXT_ANSWERS = [
    "A dog sitting on a red sofa next to a window.",
    " The image shows a street sign that reads STOP . ",
    "café ünïcode 日本 🐶 ",
    "",
    "text with <loc_5> inside<pad>",
    "STOP\nONE WAY\nPrice: $3.99",
]
OD_ANSWERS = [
    "person<loc_10><loc_20><loc_300><loc_400>car<loc_0><loc_0><loc_999><loc_999>"
    "person<loc_500><loc_500><loc_600><loc_700>",
    "dog<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>",
    "cat<loc_1><loc_2><loc_3>",
    "cat<loc_1><loc_2><loc_3><loc_4><loc_5>",
    "<loc_1><loc_2><loc_3><loc_4>",
    "café<loc_1><loc_2><loc_3><loc_4>",
    "日本<loc_1><loc_2><loc_3><loc_4>",
    " traffic light <loc_100><loc_200><loc_150><loc_260>wine glass<loc_5><loc_6><loc_7><loc_8>",
    "<od>car<loc_1><loc_2><loc_3><loc_4></od>",
    "car<loc_9><loc_8><loc_7><loc_6>",
    "a<loc_1>b<loc_2><loc_3><loc_4><loc_5>",
    "cat\ndog<loc_1><loc_2><loc_3><loc_4>",
    "bus<loc_999><loc_999><loc_999><loc_999><pad><pad>",
    "car<loc_1500><loc_2><loc_3><loc_4>",
    "",
]


@pytest.fixture(scope="session", params=["florence2-base", "tiny-bart"])
def florence(request: pytest.FixtureRequest):
    """(our tokenizer, transformers' Florence2Processor) on one Florence-style folder."""
    from transformers import AutoTokenizer, CLIPImageProcessorPil, Florence2Processor

    fixture = {"florence2-base": "florence_folder", "tiny-bart": "bart_folder"}
    folder = request.getfixturevalue(fixture[request.param])
    tokenizer = AutoTokenizer.from_pretrained(folder, extra_special_tokens={"image_token": "<image>"})
    images = CLIPImageProcessorPil(
        size={"height": 32, "width": 32}, do_center_crop=False, image_seq_length=7
    )
    processor = Florence2Processor(
        image_processor=images, tokenizer=tokenizer, post_processor_config={t: {} for t in PARSE_TYPES}
    )
    return TextTokenizer.from_folder(folder), processor


@pytest.mark.parametrize(("task", "detail", "token", "prompt"), TASKS)
def test_florence_task_table(task: str, detail: str, token: str, prompt: str) -> None:
    chosen = florence_task(task, detail)
    assert (chosen.token, chosen.prompt) == (token, prompt)
    assert chosen.finds_objects is (task == "objects")


@pytest.mark.parametrize(("task", "detail"), [("describe", "brief"), ("caption", "long"), ("OD", "brief")])
def test_florence_task_rejects_unknown(task: str, detail: str) -> None:
    with pytest.raises(ValueError):
        florence_task(task, detail)


def test_florence_prompts_match_processor(florence) -> None:
    """Same prompt text as the processor builds, and the same ids after its image tokens."""
    from PIL import Image

    ours, processor = florence
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    for token, prompt in FLORENCE_PROMPTS.items():
        assert processor._construct_prompts([token]) == [prompt]
        ids = processor(images=image, text=token)["input_ids"][0]
        image_ids = ids[: processor.num_image_tokens]
        assert set(image_ids) == {processor.image_token_id}
        assert ours.encode(prompt) == list(ids[processor.num_image_tokens:])


def _generated(processor, body: str) -> list[int]:
    """A sequence as Florence generates it: decoder start </s>, <s>, the answer, </s>."""
    tok = processor.tokenizer
    body_ids = tok(body, add_special_tokens=False)["input_ids"]
    return [tok.eos_token_id, tok.bos_token_id, *body_ids, tok.eos_token_id]


def _check_answer(ours: TextTokenizer, processor, body: str, token: str, size: tuple[int, int]) -> None:
    ids = _generated(processor, body)
    text = processor.tokenizer.decode(ids, skip_special_tokens=False)
    assert ours.decode(ids, skip_special_tokens=False) == text
    expected = processor.post_process_generation(text, task=token, image_size=size)[token]
    task = next(florence_task(t, d) for t, d, k, _ in TASKS if k == token)
    answer = florence_answer(ours, ids, task, size)
    assert answer == florence_post_process(text, task, size)
    if task.finds_objects:
        assert [o.label for o in answer.objects] == expected["labels"], body
        assert [list(o.box) for o in answer.objects] == expected["bboxes"], body
        assert answer.text == object_summary(answer.objects)
    else:
        assert answer.text == expected and answer.objects == [], body


@pytest.mark.parametrize("token", ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>", "<OCR>"])
def test_text_answers_match_processor(florence, token: str) -> None:
    ours, processor = florence
    for body in TEXT_ANSWERS:
        _check_answer(ours, processor, body, token, (640, 480))


@pytest.mark.parametrize("size", IMAGE_SIZES)
def test_object_answers_match_processor(florence, size: tuple[int, int]) -> None:
    ours, processor = florence
    for body in OD_ANSWERS:
        _check_answer(ours, processor, body, "<OD>", size)


def test_object_answers_fuzz(florence) -> None:
    """Random mixtures of labels, location tokens and stray special tokens."""
    ours, processor = florence
    rng = random.Random(11)
    pieces = ["person", "car", " dog", "a", "日本", "café", " ", "\n",
              "<od>", "</od>", "<s>", "</s>", "<pad>"]
    for _ in range(150):
        body = "".join(
            f"<loc_{rng.randrange(1000)}>" if rng.random() < 0.6 else rng.choice(pieces)
            for _ in range(rng.randint(1, 20))
        )
        _check_answer(ours, processor, body, "<OD>", rng.choice(IMAGE_SIZES))


def test_dequantize_matches_florence_for_every_bin(florence) -> None:
    import torch

    _, processor = florence
    # Sides such as 1040, 688, 576 and 1136 give other pixels for some bins in float64 arithmetic
    for size in IMAGE_SIZES + [(1920, 1080), (12345, 6789), (1040, 688), (576, 1136)]:
        bins = [[b, 999 - b, (b * 7) % 1000, b] for b in range(1000)]
        expected = processor.post_processor.dequantize(torch.tensor(bins), size=size).tolist()
        assert [list(dequantize_box(box, size)) for box in bins] == expected, size


def test_objects_example() -> None:
    objects = florence_objects(
        "</s><s>person<loc_0><loc_0><loc_499><loc_999>dog<loc_500><loc_500><loc_999><loc_999></s>",
        (1000, 200),
    )
    assert objects == [DetectedObject("person", (0.0, 0.0, 499.0, 199.0)),
                       DetectedObject("dog", (500.0, 100.0, 999.0, 199.0))]


@pytest.fixture(scope="module")
def blip(tmp_path_factory: pytest.TempPathFactory):
    """(our tokenizer, transformers' BertTokenizerFast, a tiny BlipForConditionalGeneration)."""
    import torch
    from transformers import (
        BertTokenizerFast, BlipConfig, BlipForConditionalGeneration, BlipTextConfig, BlipVisionConfig,
    )

    folder = tmp_path_factory.mktemp("tiny-blip")
    dec_id = build_bert_tokenizer(folder)
    ours, ref = TextTokenizer.from_folder(folder), BertTokenizerFast.from_pretrained(folder)
    text = BlipTextConfig(
        vocab_size=dec_id + 1, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=64, encoder_hidden_size=16, bos_token_id=dec_id,
        sep_token_id=ref.sep_token_id, pad_token_id=ref.pad_token_id, eos_token_id=ref.cls_token_id,
    )
    vision = BlipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                              num_attention_heads=2, image_size=16, patch_size=8)
    torch.manual_seed(0)
    config = BlipConfig(text_config=text.to_dict(), vision_config=vision.to_dict())
    model = BlipForConditionalGeneration(config)
    return ours, ref, model.eval()


def test_blip_caption_keeps_the_prompt_as_transformers_decodes(blip) -> None:
    ours, ref, _ = blip
    start = [ours.bos_id, *ref("a picture of", add_special_tokens=False)["input_ids"]]  # [DEC] + prompt
    generated = ref("two cats sleeping on a couch", add_special_tokens=False)["input_ids"]
    ids = [*start, *generated, ours.eos_id, ours.pad_id, ours.pad_id]
    assert blip_caption(ours, ids) == ref.decode(ids, skip_special_tokens=True)
    assert blip_caption(ours, ids) == "a picture of two cats sleeping on a couch"


def _objects(*labels: str) -> list[DetectedObject]:
    return [DetectedObject(label, (0.0, 0.0, 1.0, 1.0)) for label in labels]


@pytest.mark.parametrize(("labels", "summary"), [
    ((), "No objects found."),
    (("dog",), "A dog."),
    (("apple",), "An apple."),
    (("person", "car", "dog", "person", "car", "person"), "3 people, 2 cars and a dog."),
    (("car", "dog"), "A car and a dog."),
    (("dog", "cat", "cat"), "2 cats and a dog."),
    (("man", "woman", "man", "child", "child", "child"), "3 children, 2 men and a woman."),
    (("mouse", "mouse", "sheep", "sheep", "sheep"), "3 sheep and 2 mice."),
    (("bus", "bus", "glasses"), "2 buses and a pair of glasses."),
    (("glasses", "glasses", "scissors"), "2 pairs of glasses and a pair of scissors."),
    (("umbrella", "hour glass", "unicorn", "elephant"),
     "An umbrella, an hour glass, a unicorn and an elephant."),
    (("traffic light", "traffic light", "wine glass", "wine glass", "knife"),
     "2 traffic lights, 2 wine glasses and a knife."),
    (("Dog", "dog", " dog "), "3 dogs."),
    (("", "human face", "human face"), "2 human faces and an object."),
    (("clothing", "clothing", "footwear"), "2 items of clothing and a pair of footwear."),
    (("butterfly", "butterfly", "toy", "toy", "toy"), "3 toys and 2 butterflies."),
])
def test_object_summary(labels: tuple[str, ...], summary: str) -> None:
    assert object_summary(_objects(*labels)) == summary


@pytest.mark.parametrize(("noun", "expected"), [
    ("person", "people"), ("man", "men"), ("woman", "women"), ("child", "children"),
    ("mouse", "mice"), ("sheep", "sheep"), ("deer", "deer"), ("fish", "fish"), ("bus", "buses"),
    ("glass", "glasses"), ("box", "boxes"), ("bench", "benches"), ("brush", "brushes"),
    ("knife", "knives"), ("shelf", "shelves"), ("giraffe", "giraffes"), ("butterfly", "butterflies"),
    ("monkey", "monkeys"), ("potato", "potatoes"), ("piano", "pianos"), ("policeman", "policemen"),
    ("human", "humans"), ("foot", "feet"), ("tooth", "teeth"), ("goose", "geese"),
    ("traffic light", "traffic lights"), ("teddy bear", "teddy bears"), ("t-shirt", "t-shirts"),
    ("hot dog", "hot dogs"), ("Person", "People"), ("cell phone", "cell phones"), ("tv", "tvs"),
])
def test_plural(noun: str, expected: str) -> None:
    assert plural(noun) == expected


@pytest.mark.parametrize(("label", "count", "phrase"), [
    ("car", 1, "a car"), ("orange", 1, "an orange"), ("oven", 1, "an oven"), ("hour", 1, "an hour"),
    ("user", 1, "a user"), ("one-way sign", 1, "a one-way sign"), ("european car", 1, "a european car"),
    ("car", 12, "12 cars"), ("skis", 2, "2 pairs of skis"), ("people", 1, "a group of people"),
    ("furniture", 3, "3 pieces of furniture"), ("clothing", 1, "an item of clothing"),
])
def test_count_phrase(label: str, count: int, phrase: str) -> None:
    assert count_phrase(label, count) == phrase
